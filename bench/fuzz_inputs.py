"""Inputs for the fuzz targets: valid PDUs from smpp's own encoder, then mutated.

Pure random bytes almost never get past the 16-octet header, so most inputs
start from real frames and break them the way peers do: a lying length field,
a body cut short, a missing NUL, a huge sm_length, a TLV claiming more than
there is. Everything comes from one ``random.Random`` so a seed replays a run.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable

from fuzz_targets import ReassemblyOp, SessionOp

from smpp.codec import encode
from smpp.constants import ESM_UDHI, Tag
from smpp.pdu import (
    AlertNotification,
    BindReceiver,
    BindReceiverResp,
    BindTransceiver,
    BindTransceiverResp,
    BindTransmitter,
    BindTransmitterResp,
    CancelSm,
    CancelSmResp,
    DataSm,
    DataSmResp,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Outbind,
    Pdu,
    QuerySm,
    QuerySmResp,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
)
from smpp.segments import build_parts
from smpp.text import ConcatKind
from smpp.tlv import TLV_LENGTHS

__all__ = ["FramePool", "decode_input", "reassembly_input", "session_input"]

_KNOWN_TAGS = sorted(TLV_LENGTHS)
_SAR_TAGS = (int(Tag.sar_msg_ref_num), int(Tag.sar_total_segments), int(Tag.sar_segment_seqnum))
_U32 = struct.Struct(">I")


def _digits(rng: random.Random, most: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(rng.randint(0, most)))


def _tlvs(rng: random.Random) -> tuple[tuple[int, bytes], ...]:
    found = []
    for _ in range(rng.choice((0, 0, 1, 2, 3))):
        if rng.random() < 0.7:
            tag = rng.choice(_KNOWN_TAGS)
            low, high = TLV_LENGTHS[tag]
            size = rng.randint(low, min(high, 40))
        else:  # a vendor tag: kept byte-exact, whatever its size
            tag, size = rng.randrange(0x10000), rng.randint(0, 20)
            if tag in TLV_LENGTHS:
                continue
        found.append((tag, rng.randbytes(size)))
    return tuple(found)


def _short_message_pdu(cls: type[SubmitSm] | type[DeliverSm], rng: random.Random) -> Pdu:
    return cls(
        source_addr=_digits(rng, 20), destination_addr=_digits(rng, 20),
        esm_class=rng.choice((0, 0, ESM_UDHI, 0x04, rng.randrange(256))),
        data_coding=rng.choice((0, 3, 8, rng.randrange(256))),
        registered_delivery=rng.randrange(4),
        schedule_delivery_time=rng.choice(("", "", "240101120000000+")),
        short_message=rng.randbytes(rng.choice((0, 5, 70, 140, 160, 254))),
        tlvs=_tlvs(rng),
    )


# Each builds one random valid PDU of its kind.
_BUILDERS: tuple[Callable[[random.Random], Pdu], ...] = (
    lambda rng: _short_message_pdu(SubmitSm, rng),
    lambda rng: _short_message_pdu(SubmitSm, rng),
    lambda rng: _short_message_pdu(DeliverSm, rng),
    lambda rng: _short_message_pdu(DeliverSm, rng),
    lambda rng: SubmitSmResp(message_id=_digits(rng, 64), tlvs=_tlvs(rng)),
    lambda rng: DeliverSmResp(message_id=_digits(rng, 10)),
    lambda rng: DataSm(destination_addr=_digits(rng, 64), tlvs=_tlvs(rng)),
    lambda rng: DataSmResp(message_id=_digits(rng, 20)),
    lambda rng: rng.choice((BindTransmitter, BindReceiver, BindTransceiver))(
        system_id=_digits(rng, 15), password=_digits(rng, 8), interface_version=rng.choice(
            (0x33, 0x34, 0x50)), address_range=_digits(rng, 40)),
    lambda rng: rng.choice((BindTransmitterResp, BindReceiverResp, BindTransceiverResp))(
        system_id=_digits(rng, 15), tlvs=_tlvs(rng)),
    lambda rng: QuerySm(message_id=_digits(rng, 64), source_addr=_digits(rng, 20)),
    lambda rng: QuerySmResp(message_id=_digits(rng, 64),
                            final_date=rng.choice(("", "240101120000000+"))),
    lambda rng: CancelSm(message_id=_digits(rng, 64), destination_addr=_digits(rng, 20)),
    lambda rng: AlertNotification(source_addr=_digits(rng, 64), esme_addr=_digits(rng, 64),
                                  tlvs=_tlvs(rng)),
    lambda rng: Outbind(system_id=_digits(rng, 15), password=_digits(rng, 8)),
    lambda rng: rng.choice((EnquireLink, EnquireLinkResp, Unbind, UnbindResp, CancelSmResp,
                            GenericNack))(command_status=rng.choice((0, 0, 8))),
)


class FramePool:
    """Valid frames built once: encoding fresh PDUs for every input would cost most of it."""

    def __init__(self, rng: random.Random, size: int = 3000) -> None:
        self.frames = [
            encode(rng.choice(_BUILDERS)(rng), rng.choice((1, 2, 3, rng.randrange(1 << 31))))
            for _ in range(size)
        ]

    def pick(self, rng: random.Random) -> bytes:
        return rng.choice(self.frames)


# --- mutations: each takes a frame and returns a broken one ---------------------------------

def _fix_length(frame: bytearray) -> bytearray:
    if len(frame) >= 4:
        frame[0:4] = _U32.pack(len(frame))
    return frame


def _flip_bits(frame: bytearray, rng: random.Random) -> bytearray:
    for _ in range(rng.randint(1, 4)):
        if frame:
            frame[rng.randrange(len(frame))] ^= 1 << rng.randrange(8)
    return frame


def _set_bytes(frame: bytearray, rng: random.Random) -> bytearray:
    for _ in range(rng.randint(1, 3)):
        if frame:
            frame[rng.randrange(len(frame))] = rng.choice((0, 0xFF, 0x7F, 0x80, rng.randrange(256)))
    return frame


def _truncate(frame: bytearray, rng: random.Random) -> bytearray:
    return frame[: rng.randrange(len(frame) + 1)]


def _lie_about_length(frame: bytearray, rng: random.Random) -> bytearray:
    if len(frame) >= 4:
        size = len(frame)
        frame[0:4] = _U32.pack(rng.choice((
            0, 1, 15, 16, size - 1, size + 1, size + rng.randint(2, 300), 65536, 65537,
            0x7FFFFFFF, 0xFFFFFFFF, rng.randrange(1 << 32),
        )) & 0xFFFFFFFF)
    return frame


def _insert(frame: bytearray, rng: random.Random) -> bytearray:
    at = rng.randint(min(16, len(frame)), len(frame))
    frame[at:at] = rng.randbytes(rng.randint(1, 8))
    return frame


def _delete(frame: bytearray, rng: random.Random) -> bytearray:
    if len(frame) > 16:
        at = rng.randrange(16, len(frame))
        del frame[at : at + rng.randint(1, 8)]
    return frame


def _random_tlvs(frame: bytearray, rng: random.Random) -> bytearray:
    for _ in range(rng.randint(1, 3)):
        tag = rng.choice((*_KNOWN_TAGS, *_SAR_TAGS, rng.randrange(0x10000)))
        size = rng.choice((0, 1, 2, 4, 255, 0xFFFF))
        value = rng.randbytes(min(size, rng.choice((size, 0, 3))))  # often a TLV claiming more
        frame += struct.pack(">HH", tag, size) + value
    return frame


def _huge_sm_length(frame: bytearray, rng: random.Random) -> bytearray:
    # sm_length sits after the last NUL-ended field of submit_sm/deliver_sm: at a random
    # spot this also lands on other fields, which is as good.
    if len(frame) > 20:
        frame[rng.randrange(16, len(frame))] = rng.choice((0xFF, 0xFE, 0xFD, 255))
    return frame


def _drop_nuls(frame: bytearray, rng: random.Random) -> bytearray:
    body = frame[16:]
    nuls = [i for i, octet in enumerate(body) if octet == 0]
    for index in rng.sample(nuls, min(len(nuls), rng.randint(1, 3))):
        body[index] = rng.choice((0x41, 0x30, 0xFF))
    return frame[:16] + body


def _set_command_id(frame: bytearray, rng: random.Random) -> bytearray:
    if len(frame) >= 8:
        other = rng.choice(_BUILDERS)(rng).command_id
        frame[4:8] = _U32.pack(rng.choice((other, other ^ 0x80000000, rng.randrange(1 << 32))))
    return frame


_MUTATIONS = (
    _flip_bits, _set_bytes, _truncate, _lie_about_length, _insert, _delete, _random_tlvs,
    _huge_sm_length, _drop_nuls, _set_command_id,
)
# Mutations after which a fixed length field lets the body parser see the damage.
_LENGTH_CHANGING = {_insert, _delete, _random_tlvs, _truncate, _drop_nuls}


def mutate(frame: bytes, rng: random.Random) -> bytes:
    out = bytearray(frame)
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        mutation = rng.choice(_MUTATIONS)
        out = mutation(out, rng)
        if mutation in _LENGTH_CHANGING and rng.random() < 0.8:
            out = _fix_length(out)
    return bytes(out)


def decode_input(pool: FramePool, rng: random.Random) -> bytes:
    """One frame for the decoder: mostly a mutated valid one."""
    roll = rng.random()
    if roll < 0.08:
        return rng.randbytes(rng.randint(0, 64))
    if roll < 0.13:  # a random body behind a real header whose length fits it
        body = rng.randbytes(rng.randint(0, 80))
        return _U32.pack(16 + len(body)) + pool.pick(rng)[4:16] + body
    if roll < 0.18:
        return pool.pick(rng)  # valid frames must round-trip
    return mutate(pool.pick(rng), rng)


# --- programs for the session target -------------------------------------------------------

def _peer_frame(pool: FramePool, rng: random.Random) -> bytes:
    frame = bytearray(pool.pick(rng))
    if rng.random() < 0.7:  # small sequences answer the session's own requests
        frame[12:16] = _U32.pack(rng.randint(1, 12))
    return mutate(bytes(frame), rng) if rng.random() < 0.25 else bytes(frame)


def _data_ops(stream: bytes, rng: random.Random) -> bytearray:
    """``stream`` as TCP might deliver it: cut at random points, with ticks in between."""
    picked = rng.sample(range(1, len(stream)), max(0, min(len(stream) - 1, rng.randint(0, 4))))
    # A DATA op carries at most 0xFFFF octets.
    cuts = sorted({*picked, *range(0xFFFF, len(stream), 0xFFFF)} - {0, len(stream)})
    out = bytearray()
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        chunk = stream[start:end]
        out += bytes((SessionOp.DATA,)) + struct.pack(">H", len(chunk)) + chunk
        if rng.random() < 0.15:
            out += bytes((SessionOp.TICK,)) + struct.pack(">H", rng.randint(0, 300))
    return out


def session_input(pool: FramePool, rng: random.Random) -> bytes:
    """A session program: a role, its limits, then bind/traffic/garbage/ticks/unbind."""
    program = bytearray(rng.randbytes(4))
    esme = program[0] & 1
    if rng.random() < 0.7:  # get bound first: most interesting states are bound ones
        if esme:
            program += bytes((SessionOp.BIND, rng.randrange(3), SessionOp.REPLY, 0, 0,
                              rng.randrange(256)))
        else:
            bind = rng.choice((BindTransmitter, BindReceiver, BindTransceiver))(
                system_id="acme")
            program += _data_ops(encode(bind, rng.randint(1, 5)), rng)
            program += bytes((SessionOp.ANSWER_BIND, 0 if rng.random() < 0.8 else 0x0E))
    for _ in range(rng.randint(3, 30)):
        roll = rng.random()
        if roll < 0.35:
            stream = b"".join(_peer_frame(pool, rng) for _ in range(rng.randint(1, 6)))
            program += _data_ops(stream, rng)
        elif roll < 0.47:
            program += bytes((SessionOp.TICK,)) + struct.pack(
                ">H", rng.choice((0, 50, 1000, 3100, rng.randrange(65536))))
        elif roll < 0.62:
            program += bytes((SessionOp.SEND, rng.randrange(256)))
        elif roll < 0.74:
            program += bytes((SessionOp.REPLY, rng.choice((0, 0, 1, rng.randrange(256))),
                              rng.randrange(256), rng.randrange(256)))
        elif roll < 0.84:
            program += bytes((SessionOp.RESPOND, rng.choice((0, 0, 8))))
        elif roll < 0.9:
            program += bytes((rng.choice((SessionOp.BIND, SessionOp.ANSWER_BIND)),
                              rng.randrange(256)))
        elif roll < 0.95:
            program += bytes((SessionOp.UNBIND,))
        elif roll < 0.97:
            program += bytes((SessionOp.LOST,))
        else:
            program += rng.randbytes(rng.randint(1, 12))  # the program itself mutated
    return bytes(program)


# --- programs for the reassembler target ---------------------------------------------------

_KINDS: tuple[ConcatKind, ...] = ("udh8", "udh16", "sar", "payload")


def _pdu_op(key: int, esm: int, short_message: bytes, tlvs: tuple[tuple[int, bytes], ...]
            ) -> bytes:
    out = bytearray((ReassemblyOp.PDU, key, esm, len(short_message))) + short_message
    out.append(len(tlvs))
    for tag, value in tlvs:
        out += struct.pack(">HB", tag, len(value)) + value
    return bytes(out)


def _message_ops(rng: random.Random) -> list[bytes]:
    """The parts of one long message, as PDUs or as parsed parts, some broken or repeated."""
    key, total = rng.randrange(4), rng.choice((1, 2, 2, 3, 4, 6))
    kind = rng.choice(_KINDS)
    ref = rng.choice((0, 1, 7, 255, rng.randrange(0x10000)))
    segments = [rng.randbytes(rng.choice((0, 1, 10, 67, 134, 153))) for _ in range(total)]
    if kind == "payload":  # one PDU, reference 0
        segments, ref = segments[:1], 0
    if kind == "udh8":
        ref &= 0xFF
    ops: list[bytes] = []
    for esm, short_message, tlvs in build_parts(segments, ref, kind):
        if rng.random() < 0.5 and kind != "payload":
            info = bytes((ReassemblyOp.PART, key, _KINDS.index(kind))) + struct.pack(
                ">HBBB", ref, total, len(ops) + 1, min(len(short_message), 255))
            ops.append(info + short_message[:255])
            continue
        if rng.random() < 0.15:
            short_message = mutate(short_message, rng) if short_message else rng.randbytes(3)
        if rng.random() < 0.1:
            tlvs = (*tlvs, *((tag, rng.randbytes(rng.randint(0, 3))) for tag in
                             rng.sample(_SAR_TAGS, rng.randint(1, 3))))
        ops.append(_pdu_op(key, esm, short_message[:255], tuple(
            (tag, value[:255]) for tag, value in tlvs)))
    if rng.random() < 0.3:  # duplicates: retransmissions and reused references
        ops += rng.sample(ops, rng.randint(1, len(ops)))
    if rng.random() < 0.2:  # a part whose total disagrees with its siblings
        ops.append(bytes((ReassemblyOp.PART, key, _KINDS.index(kind) % 3)) + struct.pack(
            ">HBBB", ref, rng.randint(1, 255), 1, 1) + b"x")
    return ops


def reassembly_input(pool: FramePool, rng: random.Random) -> bytes:
    """A reassembler program: bounds, then interleaved parts of several messages and ticks."""
    program = bytearray(rng.randbytes(4))
    ops: list[bytes] = []
    for _ in range(rng.randint(1, 6)):
        ops += _message_ops(rng)
    if rng.random() < 0.7:
        rng.shuffle(ops)  # out of order and interleaved
    for op in ops:
        program += op
        if rng.random() < 0.1:
            program += bytes((ReassemblyOp.TICK,)) + struct.pack(">H", rng.randrange(8000))
    if rng.random() < 0.05:
        program += rng.randbytes(rng.randint(1, 30))
    return bytes(program)
