"""databay-prometheus: /metrics from a running planner, fetched with real HTTP GETs, shows each
link's counters moving; Delivery retries, spills and rejections are counted; databay's metrics
stay off prometheus-client's global registry."""

import re
import threading
import time
import urllib.request

import prometheus_client

from databay import Delivery, Link, Outlet, RejectedRecords
from databay.monitoring import MonitoringServer
from databay_prometheus import REGISTRY

from databay_testing import CollectOutlet, ListInlet, SwitchInlet, ThreadPlanner


def scrape(url):
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
        assert response.headers["Content-Type"] == prometheus_client.CONTENT_TYPE_LATEST
        return response.read().decode()


def value(text, metric, link):
    """One sample's value, or 0.0 when the link has none yet."""
    found = re.search(rf'^{metric}\{{link="{re.escape(link)}"\}} (\S+)$', text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def scrape_until(url, accept, timeout=10.0):
    """Scrape until ``accept(text)`` holds (short polls, not a sleep standing in for an assertion)."""
    deadline = time.monotonic() + timeout
    while not accept(text := scrape(url)):
        assert time.monotonic() < deadline, "metrics did not get there in time"
        time.sleep(0.02)
    return text


def test_metrics_move_between_two_scrapes_of_a_running_planner():
    inlet = SwitchInlet(["a", "b"])
    link = Link(inlet, CollectOutlet(), 0.05, tags=["prom", "moving"])
    planner = ThreadPlanner(link, ignore_exceptions=True)
    runner = threading.Thread(target=planner.start)
    runner.start()
    try:
        with MonitoringServer(planner) as server:
            def of(text, metric="databay_transfers_total"):
                return value(text, metric, "prom.moving")

            first = scrape_until(server.url, lambda text: of(text) >= 1)
            second = scrape_until(server.url, lambda text: of(text) > of(first))
            for metric in ("databay_records_pulled_total", "databay_records_pushed_total", "databay_transfer_duration_seconds_count"):
                assert of(second, metric) > of(first, metric) > 0
            last_success = "databay_last_success_timestamp_seconds"
            assert of(second, last_success) >= of(first, last_success) > 0
            assert "# TYPE databay_transfer_duration_seconds histogram" in second

            inlet.broken.set()
            scrape_until(server.url, lambda text: of(text, "databay_transfer_failures_total") > of(second, "databay_transfer_failures_total"))
            assert "/metrics" in server.routes and "/healthz" in server.routes
    finally:
        planner.shutdown()
        runner.join(10)


def test_retries_spills_and_rejections_are_counted():
    class Down(Outlet):
        def push(self, records, update):
            raise ConnectionError("down")

    class Picky(Outlet):
        def push(self, records, update):
            raise RejectedRecords([(record, ValueError("bad")) for record in records[:1]])

    Link(ListInlet([1, 2, 3]), Down(), 1, tags="prom-spill", delivery=Delivery(retries=2, backoff=(0.0, 0.0))).transfer()
    Link(ListInlet([1, 2, 3]), Picky(), 1, tags="prom-reject", delivery=Delivery(dead_letter=CollectOutlet())).transfer()
    text = prometheus_client.generate_latest(REGISTRY).decode()
    assert value(text, "databay_delivery_retries_total", "prom-spill") == 2
    assert value(text, "databay_records_spilled_total", "prom-spill") == 3
    assert value(text, "databay_transfer_failures_total", "prom-spill") == 1
    assert value(text, "databay_records_rejected_total", "prom-reject") == 1
    assert value(text, "databay_records_pushed_total", "prom-reject") == 2


def test_databay_metrics_stay_off_the_global_registry():
    Link(ListInlet([1]), CollectOutlet(), 1, tags="prom-private").transfer()
    assert "databay_transfers_total" not in prometheus_client.generate_latest().decode()
    assert 'databay_transfers_total{link="prom-private"} 1.0' in prometheus_client.generate_latest(REGISTRY).decode()
