"""`databay run PIPELINE --metrics-port 0`: the real CLI serves /metrics and /healthz on a free
port it logs; the counters move between two real GETs; SIGTERM stops server and planner (exit 0)."""

import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

DATABAY = [sys.executable, "-c", "from databay.cli import cli; cli()"]
PIPELINE = """
[planner]
type = "ApsPlanner"

[[links]]
tags = ["cli", "metrics"]
interval = 0.1

[[links.inlets]]
type = "RandomIntInlet"

[[links.outlets]]
type = "NullOutlet"
"""


def get(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read().decode()


def transfers(text):
    found = re.search(r'^databay_transfers_total\{link="cli.metrics"\} (\S+)$', text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def scrape_until(url, accept, deadline):
    """GET /metrics until ``accept(text)`` holds (short polls, not a sleep standing in for an assertion)."""
    while not accept(text := get(f"{url}/metrics")[1]):
        assert time.monotonic() < deadline, "the counters did not move"
        time.sleep(0.05)
    return text


def healthz_until_ok(url, deadline):
    """GET /healthz until it answers 200: with a 0.1 s interval the link is stale after 0.3 s
    without a success, which a loaded machine can cause for a moment; it must recover."""
    while True:
        try:
            return get(f"{url}/healthz")[1]
        except urllib.error.HTTPError as error:
            body = error.read().decode()
            error.close()
            assert error.code == 503 and time.monotonic() < deadline, f"/healthz stayed {error.code}: {body}"
        time.sleep(0.05)


def test_run_serves_metrics_that_move_and_healthz(tmp_path):
    path = tmp_path / "metrics.toml"
    path.write_text(PIPELINE)
    with subprocess.Popen([*DATABAY, "run", str(path), "--metrics-port", "0", "-v"], stderr=subprocess.PIPE, text=True) as process:
        lines: queue.Queue[str] = queue.Queue()
        reader = threading.Thread(target=lambda: [lines.put(line) for line in process.stderr])
        reader.start()
        try:
            deadline = time.monotonic() + 20
            said, url = [], None
            while url is None:
                try:
                    said.append(lines.get(timeout=max(0.1, deadline - time.monotonic())))
                except queue.Empty:
                    raise AssertionError("databay run never said where it serves: " + "".join(said)) from None
                found = re.search(r"Serving .*/metrics.* on (http://127\.0\.0\.1:\d+)", said[-1])
                url = found.group(1) if found else None

            first = scrape_until(url, lambda text: transfers(text) >= 1, deadline)
            second = scrape_until(url, lambda text: transfers(text) > transfers(first), deadline)
            assert 'databay_records_pulled_total{link="cli.metrics"}' in second
            assert '"status": "ok"' in healthz_until_ok(url, time.monotonic() + 30)
        finally:
            process.send_signal(signal.SIGTERM)
            status = process.wait(timeout=20)
            reader.join(5)
    assert status == 0
