"""Parts of a multipart submit answered ESME_ROK before their message completed.

A sender with a window of 1 must hear about part 1 before it sends part 2, so
every part but the completing one is answered at once (gateway.senders.server). Until
the carrier takes the message, that acknowledged part lives only in this process's
memory (the reassembler's, then the MT pipeline's): a gateway killed then, or a
message whose other parts never come, would lose it without a word.
``AnsweredParts`` keeps a note of each such part in Redis, written before its
answer, and removed once its message's fate is known: the completing part
answered, the message with the carrier or refused (a refused message's earlier
parts get their receipts from the pipeline). A part whose message never gets
there gets a failure receipt (``stat:UNDELIV err:008``, if the sender asked for
receipts), under the id it was given:

- when the reassembler drops it (timeout, eviction) in this process;
- after a restart: the notes of the previous run of this gateway (same machine,
  data_dir and worker slot: the same ``owner``) are failed at start;
- for a gateway that never comes back: any instance fails notes older than
  ``ORPHAN_AGE`` (the reassembly timeout and a margin).

A note is claimed with ZREM, so each part gets one receipt however many
instances sweep. Redis keys: ``{mp}:answered:<owner>`` (sorted set, member = the
part as JSON, score = when it was answered, ms) and ``{mp}:owners`` (set; a sweep
drops an owner with no notes left, and its next note adds it back). The hash tag
``{mp}`` keeps them in one Redis Cluster slot (a batch writes a note and its
owner in one script). Notes under the names of earlier versions (``mp:answered:<owner>``,
``mp:owners``) are failed too, by the start and the sweep, on one server or Sentinel.

Cost: a non-final part is answered once its note is in Redis. Notes and removals
are gathered into batches written one after the other (one pipeline per batch,
so a removal never overtakes its note's write): under load that is one round
trip for many parts, and at a low rate one round trip of latency on the
non-final part (the final part and single messages are untouched). If Redis does
not answer within ``NOTE_TIMEOUT`` the parts are answered anyway, and the next
parts for ``FAILING_FOR`` seconds do not wait: refusing them would stall the
sender, and a lost note only matters if the gateway also dies.
A kill after the message completed but before the carrier answered (judged, or
waiting for a token or a window) leaves the notes, so the earlier parts are failed
too; if the carrier had in fact taken it, the sender may hear of those parts twice
(the carrier's receipt, then the failure), never not at all.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import cast

import orjson
from redis.asyncio import Redis

from gateway.inbound.receipts import build_receipt
from gateway.lifecycle import Background, TaskSet
from gateway.observability.logs import fields
from gateway.smpp_link import SmppLink
from gateway.storage.redis_client import is_cluster
from smpp.pdu import DeliverSm, SubmitSm, SubmitSmResp

__all__ = ["LEGACY_OWNERS", "ORPHAN_AGE", "OWNERS", "AnsweredParts"]

log = logging.getLogger("stopgate.parts")

OWNERS = b"{mp}:owners"
#: Earlier versions' names (not Cluster-safe): read at start and by the sweep, never written.
LEGACY_OWNERS = b"mp:owners"
#: Longest wait for the note before the part is answered without one.
NOTE_TIMEOUT = 0.5
#: Notes older than this belong to a gateway that died for good (reassembly timeout 120 s).
ORPHAN_AGE = 180.0
SWEEP_EVERY = 30.0
#: After a note that timed out or failed, parts are answered without waiting this long.
FAILING_FOR = 5.0
#: The receipt of an acknowledged part whose message never completed.
FAILED_STAT, FAILED_ERR = "UNDELIV", "008"  # 0x08 ESME_RSYSERR: the gateway's failure

Deliver = Callable[[str, list[DeliverSm]], Awaitable[None]]


# One EVALSHA per batch (a redis-py pipeline costs ~10 µs of Python per command):
# ARGV = n, then n (score, note) pairs to add, the owner, then the notes to remove.
# Adds go first, so a note added and removed in the same batch ends removed.
_WRITE_BATCH = """
local n = tonumber(ARGV[1])
for i = 2, 2 * n, 2 do
  redis.call('ZADD', KEYS[1], ARGV[i], ARGV[i + 1])
end
if n > 0 then
  redis.call('SADD', KEYS[2], ARGV[2 * n + 2])
end
for i = 2 * n + 3, #ARGV do
  redis.call('ZREM', KEYS[1], ARGV[i])
end
return n
"""


# An owner without notes leaves the set, atomically: its next note adds it back.
_FORGET_OWNER = """
if redis.call('ZCARD', KEYS[1]) == 0 then
  return redis.call('SREM', KEYS[2], ARGV[1])
end
return 0
"""


def _key(owner: str) -> bytes:
    return f"{{mp}}:answered:{owner}".encode()


def _legacy_key(owner: str) -> bytes:
    return f"mp:answered:{owner}".encode()


class _Batch:
    """Notes to add and remove in one round trip, and the parts waiting to be answered."""

    __slots__ = ("adds", "answers", "done", "removes")

    def __init__(self, done: asyncio.Future[None]) -> None:
        self.adds: dict[bytes, int] = {}  # note -> when answered (ms): the ZADD score
        self.removes: list[bytes] = []
        self.answers: list[tuple[SmppLink, SubmitSm, str]] = []
        self.done = done


class AnsweredParts:
    """Notes of parts answered before their message completed (see the module docstring)."""

    def __init__(self, redis: Redis, owner: str, deliver: Deliver) -> None:
        self.redis = redis
        self.owner = owner
        self.key = _key(owner)
        self.deliver = deliver
        #: part id -> its note, for the parts answered and not yet completed or failed
        self._notes: dict[str, bytes] = {}
        #: part id -> the write of the batch carrying its note (a drop waits for it)
        self._writing: dict[str, asyncio.Future[None]] = {}
        self._batch: _Batch | None = None  # gathering, written after the one in flight
        self._write_batch = redis.register_script(_WRITE_BATCH)
        self._forget_owner = redis.register_script(_FORGET_OWNER)
        self._flusher: asyncio.Future[None] | None = None
        self._tasks = TaskSet()  # failure receipts under way, and the flusher
        self._failing_until = 0.0
        self._sweeper = Background("answered-parts", self._sweep)

    # --- the sender-facing server's hooks ------------------------------------------------

    def answer(self, link: SmppLink, pdu: SubmitSm, account: str, part_id: str) -> None:
        """Note the part in Redis, then answer it ESME_ROK with ``part_id``.

        The note is registered at once (a ``completed`` in the same tick finds it); its
        write joins the batch being gathered, and the answer goes when that batch is in
        Redis, after ``NOTE_TIMEOUT`` at the latest, or at once while Redis is failing.
        """
        note = orjson.dumps({
            "id": part_id, "a": account, "src": pdu.source_addr, "dst": pdu.destination_addr,
            "st": pdu.source_addr_ton, "sn": pdu.source_addr_npi, "dt": pdu.dest_addr_ton,
            "dn": pdu.dest_addr_npi, "rd": pdu.registered_delivery, "at": time.time(),
        })
        self._notes[part_id] = note
        batch = self._gathering()
        batch.adds[note] = int(time.time() * 1000)
        self._writing[part_id] = batch.done
        if time.monotonic() < self._failing_until:
            link.respond(pdu, SubmitSmResp(message_id=part_id))  # note it if it can
        else:
            batch.answers.append((link, pdu, part_id))

    def completed(self, part_ids: Iterable[str]) -> None:
        """The parts' message is answered (with the carrier, or refused): their notes go,
        in the next batch (after their writes, which an earlier or the same batch carries)."""
        removes = []
        for part_id in part_ids:
            note = self._notes.pop(part_id, None)
            if note is not None:
                removes.append(note)
                self._writing.pop(part_id, None)
        if removes:
            self._gathering().removes.extend(removes)

    def dropped(self, part_ids: Iterable[str]) -> None:
        """The parts' message will never complete here: their senders get failure receipts."""
        notes = [(self._notes.pop(i), self._writing.pop(i, None))
                 for i in part_ids if i in self._notes]
        if notes:
            # This process knows the message is dropped: a receipt even for a note that
            # never reached Redis (no other instance can hold it before ORPHAN_AGE).
            self._spawn(self._fail_notes(self.key, [note for note, _ in notes],
                                         [w for _, w in notes if w is not None],
                                         claimed=True))

    # --- life --------------------------------------------------------------------------------

    def start(self) -> None:
        self._sweeper.start()

    async def stop(self, timeout: float = 2.0) -> None:
        await self._sweeper.stop()
        await self._tasks.drain(timeout)

    async def sweep_once(self, now: float | None = None) -> int:
        """Fail every owner's notes older than ``ORPHAN_AGE`` (their gateway is gone);
        how many parts were failed."""
        failed = 0
        cutoff = ((now if now is not None else time.time()) - ORPHAN_AGE) * 1000
        for owners_key, key_of in self._names():
            # cast: redis-py types replies as bytes | str; this client does not decode them.
            owners = {o.decode() for o in cast(set[bytes],
                                               await self.redis.smembers(owners_key))}
            for owner in owners:
                key = key_of(owner)
                notes = cast(list[bytes], await self.redis.zrangebyscore(
                    key, "-inf", cutoff, start=0, num=1000))
                if notes:
                    failed += await self._fail_notes(key, notes, [])
                if owner != self.owner or owners_key != OWNERS:  # gone for good: no trace
                    await self._forget_owner(keys=[key, owners_key], args=[owner])
        return failed

    def _names(self) -> list[tuple[bytes, Callable[[str], bytes]]]:
        """(owners set, note key of an owner): today's, then (not on a Cluster, where
        they never worked) an earlier version's."""
        names: list[tuple[bytes, Callable[[str], bytes]]] = [(OWNERS, _key)]
        if not is_cluster(self.redis):
            names.append((LEGACY_OWNERS, _legacy_key))
        return names

    async def fail_previous_run(self) -> int:
        """At start, before the first sender binds: every note under our owner is a
        previous run's."""
        failed = 0
        for _, key_of in self._names():
            key = key_of(self.owner)
            notes = cast(list[bytes], await self.redis.zrange(key, 0, -1))
            failed += await self._fail_notes(key, notes, []) if notes else 0
        return failed

    # --- inside ------------------------------------------------------------------------------

    def _gathering(self) -> _Batch:
        """The batch new notes and removals join; the flusher is started if idle."""
        batch = self._batch
        if batch is None:
            batch = self._batch = _Batch(asyncio.get_running_loop().create_future())
            batch.done.add_done_callback(_retrieve)  # a failed write is logged, not the GC's
            if self._flusher is None or self._flusher.done():
                self._flusher = self._tasks.spawn(self._flush())
        return batch

    async def _flush(self) -> None:
        """Write the gathered batches one after the other: one round trip per batch,
        and a removal never overtakes the write of its note."""
        loop = asyncio.get_running_loop()
        while self._batch is not None:
            await asyncio.sleep(0)  # let this tick's parts join the batch
            batch, self._batch = self._batch, None
            timer = loop.call_later(NOTE_TIMEOUT, self._answer, batch, "timeout") \
                if batch.answers else None
            try:
                args: list[bytes | int | str] = [len(batch.adds)]
                for note, score in batch.adds.items():
                    args += (score, note)
                args.append(self.owner)
                args.extend(batch.removes)
                await self._write_batch(keys=[self.key, OWNERS], args=args)
            except Exception as error:
                batch.done.set_exception(error)
                self._answer(batch, str(error))
                if batch.removes:  # left in Redis: failed wrongly only after a restart
                    log.warning("could not remove %d multipart notes: %s",
                                len(batch.removes), error, extra=fields(
                                    "multipart_notes_not_removed", count=len(batch.removes),
                                    error=str(error)))
            else:
                batch.done.set_result(None)
                self._answer(batch, None)
            finally:
                if timer is not None:
                    timer.cancel()

    def _answer(self, batch: _Batch, failure: str | None) -> None:
        """Answer the batch's parts (once); a failure or timeout makes the next parts
        go without waiting for a while."""
        answers, batch.answers = batch.answers, []
        if failure is not None and self._batch is not None:
            # The parts gathered behind a stuck write would wait for it: not them either.
            answers += self._batch.answers
            self._batch.answers = []
        if failure is not None and answers:
            self._failing_until = time.monotonic() + FAILING_FOR
            log.debug("parts answered without their notes: %s", failure, extra=fields(
                "multipart_note_skipped", count=len(answers), error=failure))
        for link, pdu, part_id in answers:
            link.respond(pdu, SubmitSmResp(message_id=part_id))

    async def _fail_notes(self, key: bytes, notes: list[bytes],
                          writes: list[asyncio.Future[None]], claimed: bool = False) -> int:
        """Failure receipts for ``notes``: those this call removes from Redis (the claim),
        or all of them if ``claimed`` already (then the removal is a clean-up)."""
        if writes:
            await asyncio.gather(*writes, return_exceptions=True)
        now = datetime.now(UTC)
        by_account: dict[str, list[DeliverSm]] = {}
        failed = 0
        for note in notes:
            try:
                removed = await self.redis.zrem(key, note)
            except Exception:
                if not claimed:
                    raise
                removed = 0
            if not removed and not claimed:
                continue  # another instance (or a removal) took it first
            failed += 1
            part = orjson.loads(note)
            if not part["rd"] & 0x03:
                continue  # no receipt asked for
            by_account.setdefault(part["a"], []).append(build_receipt(
                part["id"], source_addr=part["dst"], destination_addr=part["src"],
                stat=FAILED_STAT, err=FAILED_ERR,
                submit_date=datetime.fromtimestamp(part["at"], UTC), done_date=now,
                source_addr_ton=part["dt"], source_addr_npi=part["dn"],
                dest_addr_ton=part["st"], dest_addr_npi=part["sn"]))
        for account, receipts in by_account.items():
            await self.deliver(account, receipts)
        if failed:
            log.warning("%d multipart parts answered before their message completed never "
                        "completed; failure receipts sent", failed,
                        extra=fields("multipart_parts_failed", count=failed))
        return failed

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_EVERY)
            try:
                await self.sweep_once()
            except Exception as error:
                log.debug("multipart notes sweep failed: %s", error, extra=fields(
                    "multipart_sweep_failed", error=str(error)))

    def _spawn(self, coroutine: Awaitable[object]) -> None:
        async def run() -> None:
            try:
                await coroutine
            except Exception:
                log.exception("multipart notes", extra=fields("multipart_notes_error"))
        self._tasks.spawn(run())


def _retrieve(write: asyncio.Future[None]) -> None:
    if not write.cancelled() and write.exception() is not None:
        log.debug("multipart note not written: %s", write.exception(), extra=fields(
            "multipart_note_not_written", error=str(write.exception())))
