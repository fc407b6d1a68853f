"""Transfer-engine micro-benchmark; runs under any databay (this project's or 0.3.0) or none.

    python transfer_bench.py databay   # through databay.Link.transfer()
    python transfer_bench.py loop      # a hand-written pull/wrap/push loop doing the same work

Prints one JSON object: µs per one-record transfer and records/s at 1,000 records per transfer,
with and without copies, for int and small-dict payloads. Best of several repeats.
"""

from __future__ import annotations

import copy
import json
import sys
import time

REPEATS = 5


def best_seconds(run, count: int) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        for _ in range(count):
            run()
        best = min(best, time.perf_counter() - start)
    return best


def payloads(kind: str, size: int) -> list:
    if kind == "int":
        return list(range(size))
    return [{"id": i, "value": i * 0.5} for i in range(size)]


def databay_cases():
    from databay import Inlet, Link, Outlet

    class FixedInlet(Inlet):
        def __init__(self, data):
            super().__init__()
            self.data = data

        def pull(self, update):
            return list(self.data)

    class CountOutlet(Outlet):
        def __init__(self):
            super().__init__()
            self.count = 0

        def push(self, records, update):
            self.count += len(records)

    def make(data, copy_records):
        return Link(FixedInlet(data), CountOutlet(), 1, copy_records=copy_records).transfer

    return make


def loop_cases():
    class Record:
        __slots__ = ("payload", "metadata")

        def __init__(self, payload, metadata):
            self.payload = payload
            self.metadata = metadata

    def make(data, copy_records):
        count = [0]

        def pull():
            return list(data)

        def push(records):
            count[0] += len(records)

        def transfer():
            records = [Record(p, {"__inlet__": "FixedInlet()"}) for p in pull()]
            if copy_records:
                records = [Record(copy.deepcopy(r.payload), dict(r.metadata)) for r in records]
            push(records)

        return transfer

    return make


def main() -> None:
    make = databay_cases() if sys.argv[1] == "databay" else loop_cases()
    results = {}
    for kind in ("int", "dict"):
        one = make(payloads(kind, 1), False)
        results[f"us_per_transfer_1_record_{kind}"] = best_seconds(one, 20000) / 20000 * 1e6
        for copy_records in (False, True):
            bulk = make(payloads(kind, 1000), copy_records)
            transfers = 20 if copy_records and sys.argv[1] != "databay" else 200
            seconds = best_seconds(bulk, transfers)
            label = "copies" if copy_records else "no_copies"
            results[f"records_per_s_{label}_{kind}"] = 1000 * transfers / seconds
    print(json.dumps(results))


if __name__ == "__main__":
    main()
