"""planner.stats() and the monitoring server's /healthz, on real links, a real planner and real
HTTP requests (urllib against a ThreadingHTTPServer on a free port)."""

import json
import threading
import time
import urllib.error
import urllib.request

import pytest
from hypothesis import given
from hypothesis import strategies as st

from databay import Delivery, Link, Outlet
from databay.monitoring import MonitoringServer
from databay.pipeline import Pipeline
from databay.pipeline_runner import run_until_signalled
from databay.stats import UniqueNames

from databay_testing import CollectOutlet, FailingInlet, ListInlet, SwitchInlet, ThreadPlanner, http_get, poll

NO_WAIT = (0.0, 0.0)


class Running:
    """A planner running on its own thread, for the length of a with block."""

    def __init__(self, planner):
        self.planner = planner
        self.thread = threading.Thread(target=planner.start)

    def __enter__(self):
        self.thread.start()
        poll(lambda: self.planner.running)
        return self.planner

    def __exit__(self, *exc_info):
        self.planner.shutdown()
        self.thread.join(10)


def test_stats_count_transfers_records_failures_and_durations():
    good = Link(ListInlet([1, 2, 3]), CollectOutlet(), 60, tags=["orders", "eu"])
    bad = Link(FailingInlet(), CollectOutlet(), 60, tags="broken", ignore_exceptions=True)
    planner = ThreadPlanner([good, bad])
    planner.force_transfer()
    planner.force_transfer()
    stats = planner.stats()
    assert set(stats) == {"orders.eu", "broken"}
    orders = stats["orders.eu"]
    assert (orders.transfers, orders.failures, orders.records_pulled, orders.records_pushed) == (2, 0, 6, 6)
    assert orders.durations.count == 2 and 0 < orders.durations.min <= orders.durations.mean <= orders.durations.max
    assert orders.last_duration > 0 and orders.last_success is not None and orders.last_error is None
    assert orders.interval == 60 and not orders.stale  # not running: nothing is expected of it yet
    broken = stats["broken"]
    assert (broken.transfers, broken.failures, broken.records_pulled) == (2, 2, 0)
    assert broken.last_success is None and broken.last_failure is not None
    assert broken.last_error == "ValueError: inlet broke"


def test_stats_count_retries_spills_and_rejections():
    class Down(Outlet):
        def push(self, records, update):
            raise ConnectionError("down")

    link = Link(ListInlet([1, 2]), Down(), 60, tags="spilly", delivery=Delivery(retries=1, backoff=NO_WAIT))
    planner = ThreadPlanner(link)
    planner.force_transfer()
    spilly = planner.stats()["spilly"]
    assert (spilly.retries, spilly.records_spilled, spilly.failures, spilly.records_pushed) == (1, 2, 1, 0)
    assert spilly.last_error == "ConnectionError: down"


def test_links_sharing_tags_get_distinct_names():
    planner = ThreadPlanner([Link(ListInlet([1]), CollectOutlet(), 1, tags="same") for _ in range(2)])
    planner.add_links(Link(ListInlet([1]), CollectOutlet(), 1))
    assert set(planner.stats()) == {"same", "same#2", "link"}


def test_a_removed_links_name_is_free_again_and_a_moved_link_keeps_its_own_where_free():
    first, second = (Link(ListInlet([1]), CollectOutlet(), 1, tags="same") for _ in range(2))
    planner = ThreadPlanner([first, second])
    planner.remove_links(first)
    planner.add_links(Link(ListInlet([1]), CollectOutlet(), 1, tags="same"))
    assert set(planner.stats()) == {"same", "same#2"}

    elsewhere = ThreadPlanner(Link(ListInlet([1]), CollectOutlet(), 1, tags="same"))
    elsewhere.add_links(second)  # "same#2" is free there
    assert set(elsewhere.stats()) == {"same", "same#2"}
    planner.purge()
    planner.add_links(first)
    assert set(planner.stats()) == {"same"}


def test_a_link_on_two_planners_has_a_name_in_each_and_neither_goes_stale():
    shared = Link(ListInlet([1]), CollectOutlet(), 1)
    first = ThreadPlanner(shared)
    second = ThreadPlanner(Link(ListInlet([1]), CollectOutlet(), 1))
    second.add_links(shared)  # "link" is taken there
    first.add_links(Link(ListInlet([1]), CollectOutlet(), 1))
    assert set(first.stats()) == {"link", "link#2"} and set(second.stats()) == {"link", "link#2"}
    assert {name: stats.name for name, stats in second.stats().items()} == {"link": "link", "link#2": "link#2"}
    first.remove_links(shared)
    first.add_links(Link(ListInlet([1]), CollectOutlet(), 1))
    assert set(first.stats()) == {"link", "link#2"}


def test_a_freed_number_is_handed_out_again():
    names = UniqueNames()
    assert [names.claim("link") for _ in range(3)] == ["link", "link#2", "link#3"]
    names.release("link#2")
    assert names.claim("link") == "link#2" and names.claim("link") == "link#4"


@given(st.lists(st.tuples(st.booleans(), st.sampled_from(["a", "a#2", "b", "link"])), max_size=40))
def test_unique_names_never_hands_out_a_name_in_use(steps):
    names, held = UniqueNames(), []
    for release, name in steps:
        if release and held:
            names.release(held.pop(0))
        else:
            held.append(names.claim(name))
            assert held[-1] == name or held[-1].startswith(f"{name}#")
        assert len(set(held)) == len(held)


def test_a_link_turns_stale_after_three_intervals_without_success_and_fresh_again():
    inlet = SwitchInlet([1], ConnectionError("cannot reach https://reader:s3cr3t-pw@source.example/feed"))
    link = Link(inlet, CollectOutlet(), 0.05, tags="feed")
    with Running(ThreadPlanner(link, ignore_exceptions=True)) as planner:
        poll(lambda: planner.stats()["feed"].transfers >= 2)
        assert not planner.stats()["feed"].stale
        inlet.broken.set()
        stale = poll(lambda: planner.stats()["feed"].stale and planner.stats()["feed"])
        assert stale.failures >= 1 and "***" in stale.last_error and "s3cr3t" not in stale.last_error
        inlet.broken.clear()
        poll(lambda: not planner.stats()["feed"].stale)


def test_healthz_turns_503_naming_the_stale_link_and_200_when_it_recovers():
    inlet = SwitchInlet([1], ConnectionError("cannot reach https://reader:s3cr3t-pw@source.example/feed"))
    feed = Link(inlet, CollectOutlet(), 0.05, tags="feed")
    steady = Link(ListInlet([1]), CollectOutlet(), 0.05, tags="steady")
    with Running(ThreadPlanner([feed, steady], ignore_exceptions=True)) as planner, MonitoringServer(planner) as server:
        healthz = f"{server.url}/healthz"
        status, body = poll(lambda: (answer := http_get(healthz))[0] == 200 and answer)
        assert json.loads(body)["status"] == "ok"

        inlet.broken.set()
        status, body = poll(lambda: (answer := http_get(healthz))[0] == 503 and answer)
        report = json.loads(body)
        assert report["status"] == "stale" and report["stale"] == ["feed"] and report["failing"] == ["feed"]
        assert "ConnectionError" in report["links"]["feed"]["last_error"]
        assert "s3cr3t" not in body and "reader:" not in body

        inlet.broken.clear()
        status, body = poll(lambda: (answer := http_get(healthz))[0] == 200 and answer)
        assert json.loads(body)["stale"] == []


def test_healthz_is_503_when_the_planner_is_not_running():
    planner = ThreadPlanner(Link(ListInlet([1]), CollectOutlet(), 1, tags="idle"))
    with MonitoringServer(planner) as server:
        status, body = http_get(f"{server.url}/healthz")
    assert status == 503 and json.loads(body)["status"] == "planner idle"


def test_unknown_paths_list_the_endpoints_and_metrics_says_what_to_install():
    planner = ThreadPlanner(Link(ListInlet([1]), CollectOutlet(), 1))
    with MonitoringServer(planner) as server:
        status, body = http_get(f"{server.url}/nope")
        assert status == 404 and "/healthz" in body
        server.routes.pop("/metrics", None)  # as with no exporter installed (databay-prometheus may be)
        status, body = http_get(f"{server.url}/metrics")
    assert status == 404 and "pip install databay-prometheus" in body


def test_run_until_signalled_serves_while_the_planner_runs(caplog):
    """The pipeline runner starts the server on a free port, logs its URL, and stops it with the planner."""
    planner = ThreadPlanner(Link(ListInlet([1]), CollectOutlet(), 0.05, tags="served"), ignore_exceptions=True)
    seen = {}

    def operator():
        try:
            url = poll(lambda: next((r.args[1] for r in caplog.records if r.getMessage().startswith("Serving")), None))
            seen["url"], seen["healthz"] = url, poll(lambda: http_get(f"{url}/healthz")[0] == 200)
        finally:
            planner.shutdown()  # as a failing planner stops; a signal stops it the same way, through the runner

    watcher = threading.Thread(target=operator)
    with caplog.at_level("INFO", logger="databay.monitoring"):
        watcher.start()
        outcome = run_until_signalled(Pipeline(planner, planner.links, []), 5, metrics_port=0)  # signals need the main thread
    watcher.join(10)
    assert outcome == 0 and seen["healthz"] and seen["url"].startswith("http://127.0.0.1:")
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{seen['url']}/healthz", timeout=2)


def test_a_link_moved_to_a_planner_where_its_name_is_taken_is_renamed_not_hidden():
    moved = Link(ListInlet([1]), CollectOutlet(), 60, tags="x")
    resident = Link(ListInlet([2]), CollectOutlet(), 60, tags="x")
    first, second = ThreadPlanner([moved]), ThreadPlanner([resident])
    first.remove_links(moved)
    second.add_links(moved)
    assert sorted(second.stats()) == ["x", "x#2"]
    moved.transfer()
    assert second.stats()["x#2"].transfers == 1 and second.stats()["x"].transfers == 0


def test_after_a_long_pause_staleness_counts_from_the_resume():
    inlet = SwitchInlet([1], ConnectionError("down"))
    link = Link(inlet, CollectOutlet(), 0.05, tags="feed")
    with Running(ThreadPlanner(link, ignore_exceptions=True)) as planner:
        poll(lambda: planner.stats()["feed"].transfers >= 1)
        inlet.broken.set()  # from here on nothing succeeds
        planner.pause()
        paused_at = time.monotonic()
        poll(lambda: time.monotonic() - paused_at > 0.3)  # six intervals pass while paused
        assert planner.paused and not planner.stats()["feed"].stale
        planner.resume()
        assert not planner.stats()["feed"].stale  # the pause is not held against the link
        poll(lambda: planner.stats()["feed"].stale)  # three intervals of failures after it are


class SchedulingOnlyPlanner(ThreadPlanner):
    transfers_here = False


def test_a_planner_whose_transfers_run_elsewhere_answers_for_its_own_liveness():
    link = Link(FailingInlet(), CollectOutlet(), 0.05, tags="remote")
    with Running(SchedulingOnlyPlanner(link, ignore_exceptions=True)) as planner, MonitoringServer(planner) as server:
        started = time.monotonic()
        poll(lambda: time.monotonic() - started > 0.3 and planner.stats()["remote"].failures >= 2)
        status, body = http_get(f"{server.url}/healthz")
    assert status == 200 and json.loads(body)["transfers_here"] is False
    assert not planner.stats()["remote"].stale
