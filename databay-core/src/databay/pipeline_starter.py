"""The pipeline ``databay init`` writes: it runs with whatever is installed, core alone included."""

from __future__ import annotations

from databay.plugins import install_command, nodes, suggested_node

__all__ = ["starter_pipeline", "starter_next_step"]

_TEMPLATE = """\
# A databay pipeline: `databay run --check {file}` validates it, `databay run {file}` runs it,
# `databay run --once {file}` transfers once and exits. `databay plugins --all` lists the nodes.

{planner}

[[links]]
tags = ["random_ints"]
interval = "2s"                 # seconds, or a duration: "500ms", "5s", "2m", "1h"
# copy_records = true
# ignore_exceptions = false
# processors = ["my_module:my_processor"]   # "module:callable"; the file's folder is importable

[[links.inlets]]
type = "RandomIntInlet"
min = 0
max = 100
metadata = {{ source = "starter" }}

[[links.outlets]]
type = "PrintOutlet"
only_payload = true

# Pull JSON over HTTP into MongoDB instead ({http_to_mongo}):
# [[links.inlets]]
# type = "HttpInlet"
# url = "https://jsonplaceholder.typicode.com/todos/1"
#
# [[links.outlets]]
# type = "MongoOutlet"
# uri = "${{MONGODB_URI}}"      # environment variables keep secrets out of the file
# database_name = "databay"
# collection = "todos"
#
# [links.buffer]                  # hold records until 100 are stored or a minute passed
# count_threshold = 100
# time_threshold = "1m"
"""


_NO_PLANNER = """\
# No planner can be used here, so this pipeline runs with `databay run --once {file}` (cron-style).
# To run it on its interval instead, first: {advice}
# Then uncomment:
# [planner]
# type = "{planner}"
"""


def starter_pipeline(file: str = "pipeline.toml") -> str:
    """A starter pipeline that runs in this environment: scheduled when a planner is installed,
    otherwise with ``--once``, saying what to do for scheduling (enable a planner, or install one)."""
    planner, advice = suggested_node("planner")
    table = f'[planner]\ntype = "{planner}"'
    if advice is not None:
        table = _NO_PLANNER.format(file=file, advice=advice, planner=planner).rstrip()
    return _TEMPLATE.format(file=file, planner=table, http_to_mongo=install_command("HttpInlet", "MongoOutlet"))


def starter_next_step(file: str = "pipeline.toml") -> str:
    """The commands that check and run the starter in this environment."""
    run = "databay run" if nodes("planner") else "databay run --once"
    return f"databay run --check {file} && {run} {file}"
