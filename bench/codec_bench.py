"""Micro-benchmark of the SMPP codec on the MT and DLR hot paths: ``make bench``.

Prints CPU microseconds per decode, per encode and per decode+encode (what
the proxy does to every submit_sm and deliver_sm), best of several runs.
"""

from __future__ import annotations

import sys
import time
import timeit
from collections.abc import Callable

from smpp.codec import decode, encode
from smpp.constants import ESM_DELIVERY_RECEIPT, MessageState, Tag
from smpp.pdu import DeliverSm, Pdu, SubmitSm
from smpp.tlv import encode_tlv_int, encode_tlv_str

RUNS = 7
CALLS = 20_000


def typical_submit_sm() -> SubmitSm:
    """20-digit addresses, 160 octets of GSM text, two TLVs: the MT hot path."""
    return SubmitSm(
        sequence=123456, source_addr_ton=1, source_addr_npi=1,
        source_addr="33757000000123456789", dest_addr_ton=1, dest_addr_npi=1,
        destination_addr="33612345678901234567", registered_delivery=1,
        short_message=b"Sale! " * 26 + b"STOP",
        tlvs=(encode_tlv_int(Tag.stopgate_class, 2),
              encode_tlv_str(Tag.stopgate_campaign, "spring")),
    )


def typical_dlr() -> DeliverSm:
    """A delivery receipt as carriers send it: the text plus receipted_message_id and state."""
    text = (
        b"id:4f1c2a9e77 sub:001 dlvrd:001 submit date:2405311200 done date:2405311201 "
        b"stat:DELIVRD err:000 text:Sale! Sale! Sale"
    )
    return DeliverSm(
        sequence=98765, source_addr_ton=1, source_addr_npi=1,
        source_addr="33612345678901234567", dest_addr_ton=1, dest_addr_npi=1,
        destination_addr="33757000000123456789", esm_class=ESM_DELIVERY_RECEIPT,
        short_message=text,
        tlvs=(encode_tlv_str(Tag.receipted_message_id, "4f1c2a9e77"),
              encode_tlv_int(Tag.message_state, MessageState.DELIVERED)),
    )


def best_us(call: Callable[[], object]) -> float:
    """Best-of-RUNS CPU time of one call, in microseconds."""
    timer = timeit.Timer(call, timer=time.process_time)
    return min(timer.repeat(repeat=RUNS, number=CALLS)) / CALLS * 1e6


def bench(name: str, pdu: Pdu) -> None:
    frame = encode(pdu)
    assert decode(frame) == pdu
    decode_us = best_us(lambda: decode(frame))
    encode_us = best_us(lambda: encode(pdu))
    trip_us = best_us(lambda: encode(decode(frame)))
    print(f"{name:<11} {len(frame):>4} octets   decode {decode_us:5.2f} µs   "
          f"encode {encode_us:5.2f} µs   decode+encode {trip_us:5.2f} µs")


def main() -> None:
    print(f"smpp.codec, CPython {sys.version.split()[0]}: CPU time per call, "
          f"best of {RUNS} x {CALLS}")
    bench("submit_sm", typical_submit_sm())
    bench("deliver_sm", typical_dlr())


if __name__ == "__main__":
    main()
