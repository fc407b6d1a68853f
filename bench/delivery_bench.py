"""Delivery benchmark (this project only: databay 0.3.0 has no Delivery).

    python delivery_bench.py

- happy path: 1,000-record transfers awaited on one event loop, with and without a Delivery
  (memory queue), everything delivered; reports Delivery's overhead as a percentage.
- spill: an outlet that always fails (retries=0), Delivery with a state_dir: records/s spilled
  to SQLite.
- redelivery: the same outlet recovers; records/s drained from the durable queue.

Prints one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
import time

from databay import Delivery, Inlet, Link, Outlet

RECORDS, TRANSFERS = 1000, 300


class FixedInlet(Inlet):
    def __init__(self) -> None:
        super().__init__()
        self.data = [{"id": i, "value": i * 0.5} for i in range(RECORDS)]

    def pull(self, update):
        return list(self.data)


class SwitchOutlet(Outlet):
    def __init__(self, up: bool) -> None:
        super().__init__()
        self.up = up
        self.count = 0

    def push(self, records, update):
        if not self.up:
            raise ConnectionError("down")
        self.count += len(records)


def seconds_for(link: Link, transfers: int) -> float:
    async def run() -> float:
        start = time.perf_counter()
        for _ in range(transfers):
            await link.transfer_async()
        return time.perf_counter() - start

    return asyncio.run(run())


def main() -> None:
    logging.getLogger("databay").setLevel(logging.CRITICAL)  # every spilled batch logs an ERROR line
    plain_runs, delivered_runs = [], []
    for _ in range(5):  # interleaved, best of each: the two are compared under the same conditions
        plain_runs.append(seconds_for(Link(FixedInlet(), SwitchOutlet(True), 1), TRANSFERS))
        delivered_runs.append(seconds_for(Link(FixedInlet(), SwitchOutlet(True), 1, delivery=Delivery()), TRANSFERS))
    plain, delivered = min(plain_runs), min(delivered_runs)
    with tempfile.TemporaryDirectory() as state:
        outlet = SwitchOutlet(False)
        link = Link(FixedInlet(), outlet, 1, tags="bench", delivery=Delivery(retries=0, state_dir=state, max_spill=10**9))
        spill = seconds_for(link, TRANSFERS)
        outlet.up = False
        assert link._deliverer is not None and link._deliverer.spilled == RECORDS * TRANSFERS
        outlet.up = True
        link.remove_inlets(link.inlets)  # drain only: every transfer redelivers the whole queue
        redeliver = seconds_for(link, 1)
        assert outlet.count == RECORDS * TRANSFERS
    print(json.dumps({
        "happy_path_overhead_percent": 100 * (delivered - plain) / plain,
        "records_per_s_without_delivery": RECORDS * TRANSFERS / plain,
        "records_per_s_with_delivery": RECORDS * TRANSFERS / delivered,
        "records_per_s_spilled_to_sqlite": RECORDS * TRANSFERS / spill,
        "records_per_s_redelivered_from_sqlite": RECORDS * TRANSFERS / redeliver,
    }))


if __name__ == "__main__":
    main()
