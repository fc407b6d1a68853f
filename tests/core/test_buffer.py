import threading
import time

from databay import Link, Record
from databay.support.buffers import Buffer

from databay_testing import CollectOutlet, ListInlet


def records(*payloads):
    return [Record(p) for p in payloads]


def test_count_threshold_releases_when_exceeded():
    buffer = Buffer(count_threshold=10)
    first, second, third = records(*range(4)), records(*range(4)), records(*range(3))
    assert buffer(first) == []
    assert buffer(second) == []
    assert buffer(third) == first + second + third
    assert buffer.records == []


def test_time_threshold():
    buffer = Buffer(time_threshold=0.02)
    batch = records(1)
    assert buffer(batch) == []
    deadline = time.time() + 2
    released = []
    while not released and time.time() < deadline:
        released = buffer([])
    assert released == batch
    assert buffer.time_start is None


def test_custom_controller_and_get_controllers():
    def has_big(rs):
        return any(r.payload > 10 for r in rs)

    buffer = Buffer(custom_controllers=has_big, count_threshold=100, time_threshold=100)
    assert buffer.get_controllers() == [has_big, buffer._count_controller, buffer._time_controller]
    assert Buffer().get_controllers() == []
    assert buffer(records(1, 2)) == []
    assert [r.payload for r in buffer(records(11))] == [1, 2, 11]


def test_or_short_circuits_in_documented_order():
    calls = []

    def yes(rs):
        calls.append("custom")
        return True

    buffer = Buffer(count_threshold=100, custom_controllers=yes)
    buffer._count_controller = lambda rs: calls.append("count") or False
    assert buffer(records(1)) != []
    assert calls == ["custom"]


def test_and_requires_all_and_short_circuits():
    calls = []
    buffer = Buffer(count_threshold=1, time_threshold=100, conjugate_controllers=True)
    buffer.custom_controllers = [lambda rs: calls.append("custom") or True]
    buffer._count_controller = lambda rs: calls.append("count") or False
    buffer._time_controller = lambda rs: calls.append("time") or True
    assert buffer(records(1, 2, 3)) == []
    assert calls == ["custom", "count"]
    buffer._count_controller = lambda rs: True
    assert len(buffer([])) == 3


def test_failing_controller_is_logged_and_skipped(caplog):
    def broken(rs):
        raise ValueError("nope")

    buffer = Buffer(custom_controllers=[broken, lambda rs: True])
    assert len(buffer(records(1))) == 1
    assert "nope" in caplog.text
    assert "Buffer(count_threshold=None, time_threshold=None, stored=1): controller" in caplog.text
    assert "broken failed" in caplog.text


def test_failing_controller_log_names_the_owner(caplog):
    def broken(rs):
        raise ValueError("nope")

    buffer, outlet_buffer = Buffer(custom_controllers=broken), Buffer(custom_controllers=broken)
    outlet = CollectOutlet(processors=outlet_buffer)
    link = Link(ListInlet([1]), CollectOutlet(), 1, tags="owned", processors=buffer)
    link.transfer()
    Link(ListInlet([1]), outlet, 1).transfer()
    assert f"{buffer!r} in {link!r}: controller" in caplog.text
    assert f"in {outlet!r}: controller" in caplog.text


def test_flush_releases_and_resets():
    resets = []
    buffer = Buffer(count_threshold=100, on_reset=lambda: resets.append(1))
    assert buffer(records(1, 2)) == []
    buffer.flush = True
    assert len(buffer(records(3))) == 3
    assert buffer.flush is False and resets == [1]
    buffer.reset()
    assert resets == [1, 1]


def test_concurrent_calls_lose_nothing():
    buffer = Buffer(count_threshold=50)
    released = []
    lock = threading.Lock()

    def feed():
        for i in range(200):
            out = buffer(records(i))
            with lock:
                released.extend(out)

    threads = [threading.Thread(target=feed) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    buffer.flush = True
    released.extend(buffer([]))
    assert len(released) == 800
