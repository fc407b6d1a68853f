"""Loading databay-prometheus, and counting transfers, does not import prometheus-client: the
first scrape does (a process nobody scrapes never holds its objects)."""

import os
import subprocess
import sys

COUNT_THEN_SCRAPE = """
import sys
from databay import Link
from databay.plugins import node_class
from databay_prometheus.metrics import series
from databay_prometheus.plugin import metrics
Link(node_class("inlet", "RandomIntInlet")(), node_class("outlet", "NullOutlet")(), 1, tags="lazy").transfer()
assert series("lazy").transfers == 1, "the observer hooks did not count the transfer"
assert "prometheus_client" not in sys.modules, "imported by loading databay-prometheus or counting a transfer"
status, content_type, body = metrics(None)
assert status == 200 and b'databay_transfers_total{link="lazy"} 1.0' in body, body
import databay_prometheus
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
assert content_type == CONTENT_TYPE_LATEST and generate_latest(databay_prometheus.REGISTRY) == body
"""


def test_counting_transfers_imports_no_prometheus_client_until_a_scrape():
    env = {**os.environ, "DATABAY_LOAD_PLUGINS": "prometheus"}  # this plugin alone: another's imports are no proof
    result = subprocess.run([sys.executable, "-c", COUNT_THEN_SCRAPE], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
