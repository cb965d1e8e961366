"""Codec throughput: our single-object encoding against bare fastavro on the same records.

    .venv/bin/python bench/codec.py [--records N] [--rounds R]

Prints records/s for encode and decode, ours and bare, with the ratio ours/bare (medians of
R rounds, measured in the same run; the framing and writer lookup are the difference).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import statistics
import time
from collections.abc import Callable

import fastavro

from schemas.codec import HEADER_LEN, Codec


def records(n: int) -> list[dict]:
    now = dt.datetime.now(dt.UTC)
    return [
        {
            "request_id": f"saga:0x{i:064x}:commit",
            "signer": "0x" + f"{i:040x}",
            "status": "MINED",
            "tx_hash": "0x" + f"{i:064x}",
            "nonce": i,
            "block_number": 1_000 + i,
            "gas_used": 52_000,
            "observed_at": now,
        }
        for i in range(n)
    ]


def rate(fn: Callable[[], object], n: int, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return n / statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    codec = Codec()
    schema = codec.registry.current("TxOutcome").parsed
    data = records(args.records)
    encoded = [codec.encode("TxOutcome", r) for r in data]

    def bare_encode() -> None:
        for r in data:
            out = io.BytesIO()
            fastavro.schemaless_writer(out, schema, r)
            out.getvalue()

    def ours_encode() -> None:
        for r in data:
            codec.encode("TxOutcome", r)

    def bare_decode() -> None:
        for b in encoded:
            fastavro.schemaless_reader(io.BytesIO(b[HEADER_LEN:]), schema, schema)

    def ours_decode() -> None:
        for b in encoded:
            codec.decode(b, expect="TxOutcome")

    print(f"{args.records} TxOutcome records, median of {args.rounds} rounds")
    for what, ours, bare in (
        ("encode", ours_encode, bare_encode),
        ("decode", ours_decode, bare_decode),
    ):
        r_ours, r_bare = (
            rate(ours, args.records, args.rounds),
            rate(bare, args.records, args.rounds),
        )
        print(
            f"{what}: ours {r_ours:>10,.0f}/s  bare fastavro {r_bare:>10,.0f}/s  ratio {r_ours / r_bare:.2f}"
        )


if __name__ == "__main__":
    main()
