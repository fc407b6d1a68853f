"""The manual's "Simple usage" job for real, on embedded defaults: every second pull a JSON URL
and write it to MongoDB with HttpInlet → MongoOutlet on ApsPlanner, then show what landed.

With no options, a local aiohttp endpoint stands in for the remote URL and an in-process
SecantusDB (a MongoDB-wire server) for MongoDB. Point it at real services with
``--url https://... --mongodb-uri mongodb://...`` (or DATABAY_DEMO_URL / DATABAY_DEMO_MONGODB_URI).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import logging
import os
import tempfile
import threading
from collections.abc import Iterator

import pymongo
from aiohttp import web

from databay import Link
from databay.inlets import HttpInlet
from databay.outlets import MongoOutlet
from databay.planners import ApsPlanner

TODO = {"userId": 1, "id": 1, "title": "delectus aut autem", "completed": False}


@contextlib.contextmanager
def local_json_endpoint(document: object = TODO) -> Iterator[str]:
    """Serve ``document`` at http://127.0.0.1:<free port>/todos/1 on a background thread."""
    loop = asyncio.new_event_loop()
    app = web.Application()
    body = json.dumps(document).encode()
    app.router.add_get("/todos/1", lambda request: web.Response(body=body, content_type="application/json"))
    runner = web.AppRunner(app, access_log=None)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = site._server.sockets[0].getsockname()[1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/todos/1"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@contextlib.contextmanager
def embedded_mongodb() -> Iterator[str]:
    """An in-process SecantusDB server in a temporary directory."""
    from secantus import SecantusDBServer

    with tempfile.TemporaryDirectory(prefix="databay-demo-") as storage:
        server = SecantusDBServer(storage_path=storage)
        server.start()
        try:
            yield server.uri
        finally:
            server.stop()


def run(url: str, mongodb_uri: str, seconds: float, interval: float) -> None:
    logging.getLogger("databay").setLevel(logging.DEBUG)
    http_inlet = HttpInlet(url)
    mongo_outlet = MongoOutlet(database_name="databay", collection="test_collection", uri=mongodb_uri)
    link = Link(http_inlet, mongo_outlet, datetime.timedelta(seconds=interval), tags="http_to_mongo")
    planner = ApsPlanner(link)
    threading.Timer(seconds, planner.shutdown).start()
    planner.start()  # blocks until the timer shuts the planner down

    with pymongo.MongoClient(mongodb_uri) as client:
        documents = list(client.databay.test_collection.find({}, {"_id": 0}))
    print(f"\n{len(documents)} documents landed in databay.test_collection; the last:")
    print(json.dumps(documents[-1] if documents else None, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("DATABAY_DEMO_URL"), help="JSON URL to pull (default: a local endpoint)")
    parser.add_argument(
        "--mongodb-uri", default=os.environ.get("DATABAY_DEMO_MONGODB_URI"), help="MongoDB to write to (default: embedded)"
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="how long to run (default 10)")
    parser.add_argument("--interval", type=float, default=1.0, help="transfer interval in seconds (default 1)")
    options = parser.parse_args()
    with contextlib.ExitStack() as stack:
        url = options.url or stack.enter_context(local_json_endpoint())
        mongodb_uri = options.mongodb_uri or stack.enter_context(embedded_mongodb())
        run(url, mongodb_uri, options.seconds, options.interval)


if __name__ == "__main__":
    main()
