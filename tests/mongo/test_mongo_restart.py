"""The MongoDB server goes away in the middle of a planner's run and comes back on the same storage:
every record the link pulled ends up in MongoDB (spilled while the server is down, redelivered once
it is back), and the only duplicates are the README's: a write in flight when the server stopped.

It stops and starts its own SecantusDB, DATABAY_TEST_MONGODB_URI or not."""

import threading
import time

import pymongo
import pytest

from databay import Delivery, Inlet, Link
from databay_mongo import MongoOutlet

from databay_testing import ThreadPlanner
from mongo_server import RestartableSecantusDB

RECORDS_PER_TRANSFER = 50
# README (MongoOutlet): a write that reached the server but whose answer did not reach the outlet
# is written again, once more per such failed attempt. Here only the attempt in flight at the stop
# can have reached the server (later ones find none): one batch at the most.
MAX_DUPLICATES_PER_STOP = RECORDS_PER_TRANSFER


class NumberInlet(Inlet):
    """RECORDS_PER_TRANSFER numbered records per transfer: {"n": 0}, {"n": 1}, …"""

    def __init__(self):
        super().__init__()
        self.produced: list[int] = []
        self._lock = threading.Lock()

    def pull(self, update):
        with self._lock:
            numbers = range(len(self.produced), len(self.produced) + RECORDS_PER_TRANSFER)
            self.produced.extend(numbers)
        return [{"n": number} for number in numbers]


def make_planner(kind, link):
    if kind == "ApsPlanner":
        databay_aps = pytest.importorskip("databay_aps", reason="databay-aps is not installed with databay-mongo")
        return databay_aps.ApsPlanner(link)
    return ThreadPlanner(link)  # a real BasePlanner: core's runtime, its thread calling in every interval


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {timeout}s"
        time.sleep(0.02)


@pytest.mark.timeout(90)
@pytest.mark.parametrize("planner_kind", ["ThreadPlanner", "ApsPlanner"])
def test_every_pulled_record_reaches_mongo_across_a_server_restart(planner_kind, tmp_path):
    pytest.importorskip("secantus", reason="the test stops and starts its own SecantusDB")
    server = RestartableSecantusDB(str(tmp_path / "mongo"))
    server.start()
    inlet = NumberInlet()
    outlet = MongoOutlet("restart", "numbers", uri=server.uri, timeout=1)
    delivery = Delivery(retries=1, backoff=(0.05, 0.2), state_dir=tmp_path / "state")
    link = Link(inlet, outlet, 0.02, tags="restart", delivery=delivery)
    planner = make_planner(planner_kind, link)
    runner = threading.Thread(target=planner.start, daemon=True)
    observer = pymongo.MongoClient(server.uri, serverSelectionTimeoutMS=2000)
    numbers = observer.restart.numbers
    try:
        runner.start()
        wait_for(
            lambda: numbers.count_documents({}) >= 5 * RECORDS_PER_TRANSFER, 20, "5 transfers written before the stop"
        )
        server.stop()
        produced_at_stop = len(inlet.produced)
        wait_for(
            lambda: link._deliverer.spilled >= 2 * RECORDS_PER_TRANSFER,
            30,
            "2 transfers spilled while the server is down",
        )
        spilled_at_restart = link._deliverer.spilled
        server.start()  # same storage path, same port: the outlet's client finds it again
        wait_for(lambda: link._deliverer.spilled == 0, 30, "the spill drained after the restart")
        wait_for(
            lambda: len(inlet.produced) >= produced_at_stop + spilled_at_restart + 3 * RECORDS_PER_TRANSFER,
            20,
            "3 transfers after",
        )
    finally:
        if not server.running:  # a failure while it was down: bring it back to stop cleanly and to look
            server.start()
        planner.shutdown()
        runner.join(30)
    try:
        written = [document["n"] for document in numbers.find({}, {"_id": 0, "n": 1})]
    finally:
        observer.close()
        server.stop()
    assert not runner.is_alive() and planner.exception is None and planner.lost_records == 0
    assert link._deliverer.spilled == 0
    duplicates = len(written) - len(set(written))
    report = (
        f"{len(inlet.produced)} pulled, {len(written)} written, {duplicates} duplicate(s); "
        f"{produced_at_stop} pulled before the stop, {spilled_at_restart} spilled while down"
    )
    assert set(written) == set(inlet.produced), f"missing {sorted(set(inlet.produced) - set(written))}; {report}"
    assert duplicates <= MAX_DUPLICATES_PER_STOP, report
