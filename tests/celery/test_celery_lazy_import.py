"""Loading databay-celery, and building a CeleryPlanner, does not import Celery, kombu, redis or
redbeat: making its Celery app does (a process that schedules nothing on Celery never holds them)."""

import os
import subprocess
import sys

BUILD_THEN_APP = """
import sys
from databay import Link
from databay.plugins import node_class
heavy = ("celery", "kombu", "redis", "redbeat")
planner = node_class("planner", "CeleryPlanner")(
    Link(node_class("inlet", "NullInlet")(), node_class("outlet", "NullOutlet")(), 1), "redis://localhost:1/0"
)
assert not [name for name in heavy if name in sys.modules], [name for name in heavy if name in sys.modules]
app = planner.celery_app()
assert app.conf.broker_url == "redis://localhost:1/0" and "celery" in sys.modules
"""


def test_loading_the_plugin_and_building_a_planner_import_no_celery_until_its_app():
    env = {**os.environ, "DATABAY_LOAD_PLUGINS": "celery"}  # this plugin alone: another's imports are no proof
    result = subprocess.run([sys.executable, "-c", BUILD_THEN_APP], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
