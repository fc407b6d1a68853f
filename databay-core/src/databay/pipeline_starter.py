"""The pipeline ``databay init`` writes: it runs with whatever planner is installed."""

from __future__ import annotations

from databay.plugins import install_command, suggested_node

__all__ = ["starter_pipeline"]

_TEMPLATE = """\
# A databay pipeline: `databay run --check {file}` validates it, `databay run {file}` runs it,
# `databay run --once {file}` transfers once and exits. `databay plugins --all` lists the nodes.

[planner]
type = "{planner}"{planner_note}

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


def starter_pipeline(file: str = "pipeline.toml") -> str:
    """The text of a working starter pipeline for this environment."""
    planner, install = suggested_node("planner")
    return _TEMPLATE.format(
        file=file,
        planner=planner,
        planner_note=f"          # {install}" if install else "",
        http_to_mongo=install_command("HttpInlet", "MongoOutlet"),
    )
