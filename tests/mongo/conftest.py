import itertools

import pymongo
import pytest
from stalling_proxy import StallingProxy

from mongo_server import mongodb_uri

_databases = itertools.count()


@pytest.fixture(scope="session")
def mongo_uri():
    with mongodb_uri() as uri:
        yield uri


@pytest.fixture
def database(mongo_uri):
    """A fresh database name per test, and a client to look at what landed."""
    name = f"databay_test_{next(_databases)}"
    client = pymongo.MongoClient(mongo_uri)
    yield name, client[name]
    client.drop_database(name)
    client.close()


@pytest.fixture
def stalling_proxy(mongo_uri):
    proxy = StallingProxy(mongo_uri)
    yield proxy
    proxy.close()
