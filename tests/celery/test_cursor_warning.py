"""A worker warns of inlets that keep a cursor in the process: under CeleryPlanner each worker
process reads from its own, so records repeat across workers."""

from __future__ import annotations

from databay import Link
from databay.inlets import FileInlet, NullInlet
from databay.outlets import NullOutlet
from databay_celery import CeleryPlanner
from databay_celery.worker import _warn_of_cursors


def test_only_inlets_with_a_cursor_are_warned_of(tmp_path, caplog):
    (tmp_path / "lines.txt").write_text("a\nb\n")
    planner = CeleryPlanner(
        [Link(FileInlet(str(tmp_path / "lines.txt")), NullOutlet(), 1, tags="lines"), Link(NullInlet(), NullOutlet(), 1, tags="null")],
        broker_url="redis://localhost",
    )
    _warn_of_cursors(planner)
    warned = [record.getMessage() for record in caplog.records if record.levelname == "WARNING"]
    assert len(warned) == 1 and warned[0].startswith("lines: FileInlet") and "records repeat across workers" in warned[0]
