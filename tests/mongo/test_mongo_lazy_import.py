"""Loading databay-mongo does not import pymongo or bson: a connection string to check, a
connection or a write does (the heap of a process whose pipeline writes nothing to MongoDB stays
free of their objects)."""

import os
import subprocess
import sys

LOOKUP_AND_CONSTRUCT = """
import sys
from databay.plugins import node_class
MongoOutlet = node_class("outlet", "MongoOutlet")
assert MongoOutlet.__module__ == "databay_mongo.mongo_outlet", MongoOutlet
outlet = MongoOutlet("db", host="mongo.invalid", port=27018)
assert repr(outlet) == "MongoOutlet(address:mongo.invalid:27018, database:db, collection:default_collection)"
loaded = sorted(name for name in ("pymongo", "bson") if name in sys.modules)
assert not loaded, f"imported by loading databay-mongo: {loaded}"
MongoOutlet(uri="mongodb://user:pw@mongo.invalid/db")  # checking a connection string is pymongo's work
assert "pymongo" in sys.modules
"""


def test_looking_up_and_making_a_mongo_outlet_imports_no_pymongo():
    env = {**os.environ, "DATABAY_LOAD_PLUGINS": "mongo"}  # this plugin alone: another's imports are no proof
    result = subprocess.run([sys.executable, "-c", LOOKUP_AND_CONSTRUCT], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
