"""HttpInlet → MongoOutlet throughput over local servers; runs under this project or databay 0.3.0.

    python http_mongo_bench.py databay|loop URL MONGODB_URI TRANSFERS

``loop`` is the hand-written equivalent: one reused aiohttp session, json parsing, one pymongo
insert_many per response. Prints {"records_per_s": ...} of one run; compare.py interleaves runs
of the contenders, since the local servers' speed drifts over a run.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import aiohttp
import pymongo


def databay_run(url: str, uri: str, transfers: int, database: str) -> int:
    from databay import Link
    from databay.inlets import HttpInlet
    from databay.outlets import MongoOutlet

    host, port = pymongo.uri_parser.parse_uri(uri)["nodelist"][0]
    inlet, outlet = HttpInlet(url), MongoOutlet(database, "bench", host=host, port=port)
    link = Link(inlet, outlet, 1)
    inlet.try_start()
    outlet.try_start()
    if hasattr(link, "transfer_async"):  # 1.0: transfers sharing one loop, as a planner runs them
        async def all_transfers() -> None:
            for _ in range(transfers):
                await link.transfer_async()

        asyncio.run(all_transfers())
    else:  # databay 0.3.0
        for _ in range(transfers):
            link.transfer()
    inlet.try_shutdown()
    outlet.try_shutdown()
    return transfers


def loop_run(url: str, uri: str, transfers: int, database: str) -> int:
    client = pymongo.MongoClient(uri)
    collection = client[database]["bench"]

    async def main() -> None:
        async with aiohttp.ClientSession() as session:
            for _ in range(transfers):
                async with session.get(url) as response:
                    documents = json.loads(await response.read())
                collection.insert_many(documents)

    asyncio.run(main())
    client.close()
    return transfers


def main() -> None:
    mode, url, uri, transfers = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    run = databay_run if mode == "databay" else loop_run
    if mode == "databay":  # resolve the nodes (loading plugins) before the clock starts, as a long run would
        from databay.inlets import HttpInlet  # noqa: F401
        from databay.outlets import MongoOutlet  # noqa: F401
    with pymongo.MongoClient(uri) as client:
        per_transfer = len(json.loads(__import__("urllib.request").request.urlopen(url).read()))
        database = f"bench_{mode}"
        start = time.perf_counter()
        run(url, uri, transfers, database)
        seconds = time.perf_counter() - start
        landed = client[database]["bench"].count_documents({})
        assert landed == transfers * per_transfer, (landed, transfers * per_transfer)
        client.drop_database(database)
    print(json.dumps({"records_per_s": landed / seconds}))


if __name__ == "__main__":
    main()
