"""The server-side half of the suppression cache: its Lua scripts (layout in suppression_cache).

Every script derives key names from the markers it reads, so each step is
atomic against a generation switch. On Redis Cluster that holds because every
key shares the hash tag ``{sp}``: one slot, so one shard, runs every script
whole. Callers pass ``{sp}:ready`` as KEYS[1] so that a Cluster client routes
the script to that shard (the scripts name the other keys themselves: same
slot, which Redis 6.2 and 7 both allow). Only Redis 6.2 commands are used.

Erased numbers (``h:`` and the HMAC of the number, gateway.suppression.erasure) are
kept as "scope\\0h:..." in their own set, ``{sp}:G:h``: a lookup checks the hashes of its
numbers only while that set exists, and asks the caller for them (reply 2) when it
exists and none were sent.

Items travel as one argument, ``"s,bucket,value"`` triples separated by
spaces: ``s`` is the ARGV index of the scope, ``bucket`` and ``value`` the
number split for the bucket bits the caller passes (its guess of the
generation's); a script re-splits for a generation with other bits. A number
kept as text is ``"s,a,j"``, ``j`` the ARGV index of its text. (Thousands of
separate arguments cost far more to pack in redis-py than one.)

The member of scope id ``i`` is the decimal ``i`` followed by the value padded
to 12 digits (``i * 10**12 + value``; the value is below 2**38), and the bare
value for "*" (id 0): built by concatenation, because ``string.format`` costs
about a microsecond in Redis's Lua and ``tostring`` is exact only below 10**14.
"""

from __future__ import annotations

# Shared prologue: a generation's layout from its marker "G:bits", and where an item lives.
_LAYOUT = """
local ZEROS = {}
for i = 0, 12 do ZEROS[i] = string.rep('0', i) end
local MAX_ID = 9223371
local function layout(marker)
  local gen, bits = string.match(marker, '^(%x+):(%d+)$')
  return '{sp}:' .. gen .. ':', bits
end
-- key and member of (id, bucket, value) split for arg_bits, in a generation of gen_bits
local function place(prefix, gen_bits, arg_bits, id, bucket, value)
  if gen_bits ~= arg_bits then
    local x = tonumber(bucket) * 2 ^ (50 - tonumber(arg_bits)) + tonumber(value)
    local div = 2 ^ (50 - tonumber(gen_bits))
    local b = math.floor(x / div)
    bucket, value = '' .. b, '' .. (x - b * div)
  end
  if id == '0' then return prefix .. bucket, value end
  return prefix .. bucket, id .. ZEROS[12 - #value] .. value
end
"""

#: ARGV: bits, the items' erasure hashes ("" or one per item, space-separated, in item
#: order), items, then the scopes and texts they point at. Returns "bits:" and a "0"/"1"
#: per item (bits: the generation's, for the next call; "bits" ends in "h" while the
#: generation holds erased numbers), or an integer: 0 or 1 when not ready (1: a rebuild
#: is loading), 2 when the generation holds erased numbers and no hashes were sent (ask
#: again with them). Without erased numbers, hashes are neither needed nor read.
LOOKUP = _LAYOUT + """
local ready = redis.call('GET', '{sp}:ready')
if not ready then return redis.call('EXISTS', '{sp}:build') end
local prefix, bits = layout(ready)
local arg_bits = ARGV[1]
local scopes, texts, erased = prefix .. 'scopes', prefix .. 's', prefix .. 'h'
local hashes = nil
if redis.call('EXISTS', erased) == 1 then
  if ARGV[2] == '' then return 2 end
  hashes = string.gmatch(ARGV[2], '%S+')
end
local ids = {}
local out = {bits, hashes and 'h' or '', ':'}
for s, bucket, value in string.gmatch(ARGV[3], '(%d+),(a?%d*),(%d+)') do
  local scope = ARGV[tonumber(s)]
  local hit
  if bucket == 'a' then
    local number = ARGV[tonumber(value)]
    hit = redis.call('SISMEMBER', texts, '*\\0' .. number) == 1
      or redis.call('SISMEMBER', texts, scope .. '\\0' .. number) == 1
  else
    local key, member = place(prefix, bits, arg_bits, '0', bucket, value)
    hit = redis.call('SISMEMBER', key, member) == 1
    if not hit and scope ~= '*' then
      local id = ids[scope]
      if id == nil then
        id = redis.call('HGET', scopes, scope)
        ids[scope] = id
      end
      if id then
        key, member = place(prefix, bits, arg_bits, id, bucket, value)
        hit = redis.call('SISMEMBER', key, member) == 1
      end
    end
  end
  if hashes then
    local h = hashes()
    if not hit and h then
      hit = redis.call('SISMEMBER', erased, '*\\0' .. h) == 1
        or redis.call('SISMEMBER', erased, scope .. '\\0' .. h) == 1
    end
  end
  out[#out + 1] = hit and '1' or '0'
end
return table.concat(out)
"""

#: ARGV: mode (add | remove | load), the build marker a load is for, bits, items, scopes
#: and texts.
#: add/remove write to the ready generation and to the one being built, if any; during a
#: build they keep its tombstones (opt-ins to re-apply at the switch). A load writes only
#: to its own generation and fails once its lease is gone. Returns generations written.
WRITE = _LAYOUT + """
local mode = ARGV[1]
local build = redis.call('GET', '{sp}:build')
local targets = {}
if mode == 'load' then
  if build ~= ARGV[2] then return redis.error_reply('STOPGATE-LOST ' .. ARGV[2]) end
  targets[1] = {build, false}
else
  local ready = redis.call('GET', '{sp}:ready')
  if ready then targets[#targets + 1] = {ready, false} end
  if build then targets[#targets + 1] = {build, true} end
end
for _, target in ipairs(targets) do
  local prefix, bits = layout(target[1])
  local scopes = prefix .. 'scopes'
  local tomb = target[2] and (prefix .. 'tomb') or nil
  local ids = {['*'] = '0'}
  local changed = 0
  for s, bucket, value in string.gmatch(ARGV[4], '(%d+),(a?%d*),(%d+)') do
    local scope = ARGV[tonumber(s)]
    local key, member
    if bucket == 'a' then
      local text = ARGV[tonumber(value)]
      -- an erased number (its hash, "h:..."): kept apart, so lookups ask for hashes only
      -- while some exist
      key = string.sub(text, 1, 2) == 'h:' and (prefix .. 'h') or (prefix .. 's')
      member = scope .. '\\0' .. text
    else
      local id = ids[scope]
      if id == nil then
        id = redis.call('HGET', scopes, scope)
        if not id then
          id = redis.call('HLEN', scopes) + 1
          if id > MAX_ID then
            return redis.error_reply('STOPGATE-SCOPES more than ' .. MAX_ID .. ' scopes')
          end
          redis.call('HSET', scopes, scope, id)
          id = '' .. id
        end
        ids[scope] = id
      end
      key, member = place(prefix, bits, ARGV[3], id, bucket, value)
    end
    if mode == 'remove' then
      changed = changed - redis.call('SREM', key, member)
      if tomb then redis.call('SADD', tomb, key .. '\\n' .. member) end
    else
      changed = changed + redis.call('SADD', key, member)
      if tomb then redis.call('SREM', tomb, key .. '\\n' .. member) end
    end
  end
  if changed ~= 0 then redis.call('INCRBY', prefix .. 'n', changed) end
end
return #targets
"""

#: ARGV: new build marker, lease ms, "1" to drop the ready marker (the cache is not
#: trusted), the instance taking it and this life of it ("instance:nonce"; both may be
#: empty), "1" to take nothing when a ready marker is there (the caller found none: an
#: instance finished a rebuild since, and any rebuild that began before the caller's
#: invalidation lost its lease to it, so that generation holds every commit). Returns 1
#: when taken, 2 when taken over from an earlier life of the same instance (it died
#: rebuilding: its lease would otherwise keep the cache down), 3 when a ready marker
#: is there (with the last flag), else 0.
ACQUIRE = """
if ARGV[6] == '1' and redis.call('EXISTS', '{sp}:ready') == 1 then return 3 end
local taken = 1
if not redis.call('SET', '{sp}:build', ARGV[1], 'NX', 'PX', ARGV[2]) then
  local holder = redis.call('GET', '{sp}:builder')
  local mine = ARGV[4] .. ':'
  if ARGV[4] == '' or not holder or holder == ARGV[5]
      or string.sub(holder, 1, #mine) ~= mine then
    return 0
  end
  redis.call('SET', '{sp}:build', ARGV[1], 'PX', ARGV[2])
  taken = 2
end
redis.call('SET', '{sp}:builder', ARGV[5], 'PX', ARGV[2])
if ARGV[3] == '1' then redis.call('DEL', '{sp}:ready') end
return taken
"""

#: ARGV: build marker, lease ms.
RENEW = """
if redis.call('GET', '{sp}:build') == ARGV[1] then
  redis.call('PEXPIRE', '{sp}:builder', ARGV[2])
  return redis.call('PEXPIRE', '{sp}:build', ARGV[2])
end
return 0
"""

#: ARGV: build marker.
RELEASE = """
if redis.call('GET', '{sp}:build') == ARGV[1] then
  return redis.call('DEL', '{sp}:build', '{sp}:builder')
end
return 0
"""

#: ARGV: build marker. Re-applies the tombstones, switches the marker; returns members.
FINALIZE = _LAYOUT + """
if redis.call('GET', '{sp}:build') ~= ARGV[1] then
  return redis.error_reply('STOPGATE-LOST ' .. ARGV[1])
end
local prefix = layout(ARGV[1])
local tomb = prefix .. 'tomb'
local removed = 0
for _, entry in ipairs(redis.call('SMEMBERS', tomb)) do
  local cut = string.find(entry, '\\n', 1, true)
  removed = removed + redis.call('SREM', string.sub(entry, 1, cut - 1), string.sub(entry, cut + 1))
end
redis.call('DEL', tomb)
local members = redis.call('DECRBY', prefix .. 'n', removed)
redis.call('SET', '{sp}:ready', ARGV[1])
redis.call('DEL', '{sp}:build', '{sp}:builder')
return members
"""

#: {ready marker or false, members, baseline or false, build marker or false}
STATE = _LAYOUT + """
local ready, build = unpack(redis.call('MGET', '{sp}:ready', '{sp}:build'))
if not ready then return {false, 0, false, build} end
local prefix = layout(ready)
return {ready, redis.call('GET', prefix .. 'n') or '0', redis.call('GET', prefix .. 'base'), build}
"""

#: ARGV: keys from a SCAN. Unlinks those of generations neither ready nor being built.
SWEEP = """
local keep = {}
for _, marker in ipairs(redis.call('MGET', '{sp}:ready', '{sp}:build')) do
  if marker then keep[string.match(marker, '^(%x+):')] = true end
end
local removed = 0
for _, key in ipairs(ARGV) do
  local gen = string.match(key, '^{sp}:(%x+):')
  if gen and not keep[gen] then removed = removed + redis.call('UNLINK', key) end
end
return removed
"""
