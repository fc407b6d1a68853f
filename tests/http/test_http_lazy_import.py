"""Loading databay-http does not import aiohttp: only a request does (the heap of a process whose
pipeline pulls no URL stays free of aiohttp's, yarl's and multidict's objects)."""

import os
import subprocess
import sys

LOOKUP_AND_CONSTRUCT = """
import sys
from databay.plugins import node_class
HttpInlet = node_class("inlet", "HttpInlet")
assert HttpInlet.__module__ == "databay_http.http_inlet", HttpInlet
inlet = HttpInlet("https://example.invalid/data?api_key=s3cret", headers={"Authorization": "secret"})
assert inlet.public_url == "https://example.invalid/data?api_key=***", inlet.public_url
loaded = sorted(name for name in ("aiohttp", "yarl", "multidict") if name in sys.modules)
assert not loaded, f"imported by loading databay-http: {loaded}"
"""


def test_looking_up_and_making_an_http_inlet_imports_no_aiohttp():
    env = {**os.environ, "DATABAY_LOAD_PLUGINS": "http"}  # this plugin alone: another's imports are no proof
    result = subprocess.run([sys.executable, "-c", LOOKUP_AND_CONSTRUCT], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
