import pytest
from stalling_proxy import StallingProxy


@pytest.fixture(scope="session")
def mongo_uri(databay_mongo_uri):
    """The session's MongoDB-wire server (databay's pytest plugin: SecantusDB or DATABAY_TEST_MONGODB_URI)."""
    return databay_mongo_uri


@pytest.fixture
def database(databay_mongo):
    """A fresh database name per test, and that database through a client, to look at what landed."""
    return databay_mongo.name, databay_mongo.db


@pytest.fixture
def stalling_proxy(mongo_uri):
    proxy = StallingProxy(mongo_uri)
    yield proxy
    proxy.close()
