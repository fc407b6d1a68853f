"""The file nodes under a Delivery, through real links and files: FileInlet commits its cursor only
once its lines are delivered or durably spilled and the next run reads on from there; FileOutlet
and CsvOutlet write every record they can and reject the others one by one."""

import errno
import logging
import os
import pickle
import sqlite3
import threading

import pytest

from databay import Delivery, Link, RejectedRecords
from databay.inlets import FileInlet
from databay.outlets import CsvOutlet, FileOutlet

from databay_testing import CollectOutlet, ListInlet

NO_WAIT = (0.0, 0.0)
LINES = ["a\n", "bé\n", "c\n", "d\n", "e\n", "f\n"]


class DiskOutlet(FileOutlet):
    """A FileOutlet of lines read by a FileInlet (one line each), whose disk is full while ``full``."""

    full = False

    def __init__(self, path):
        super().__init__(path, processors=strip_line_ends)

    def push(self, records, update):
        if self.full:
            raise OSError(errno.ENOSPC, "No space left on device")
        super().push(records, update)


class WatchedFileInlet(FileInlet):
    watch = None

    def commit(self, update):
        if self.watch is not None:
            self.watch(update)
        super().commit(update)


def strip_line_ends(records):
    for record in records:
        record.payload = record.payload.rstrip("\n")
    return records


def spilled_on_disk(state_dir):
    """The lines waiting in the link's SQLite spill file, oldest first, as a new process sees them."""
    (path,) = state_dir.glob("*.sqlite")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        blobs = db.execute("SELECT records FROM spill ORDER BY id").fetchall()
    return [f"{record.payload}\n" for (blob,) in blobs for record in pickle.loads(blob)]


@pytest.fixture
def start(request):
    """Start an inlet, and shut it down when the test ends (passed or not)."""

    def start(inlet):
        inlet.try_start()
        request.addfinalizer(inlet.try_shutdown)
        return inlet

    return start


def lines_of(path):
    return path.read_text().splitlines(keepends=True) if path.exists() else []


def test_file_inlet_commits_after_delivery_or_durable_spill_and_the_next_run_reads_on(tmp_path, start):
    source, out, state = tmp_path / "in.txt", tmp_path / "out.txt", tmp_path / "state"
    source.write_text("".join(LINES))
    delivery = Delivery(retries=0, backoff=NO_WAIT, state_dir=state)
    at_commit = []
    inlet, outlet = WatchedFileInlet(str(source)), DiskOutlet(str(out))
    inlet.watch = lambda update: at_commit.append((update.transfer_number, lines_of(out), spilled_on_disk(state)))
    link = Link(inlet, outlet, 1, tags="tail", delivery=delivery)
    start(inlet)
    for full in (True, True, False, True):  # two lines spilled, all three written, one spilled
        outlet.full = full
        link.transfer()
    assert at_commit == [  # each line pulled so far is written or spilled to disk when it commits
        (0, [], ["a\n"]),
        (1, [], ["a\n", "bé\n"]),
        (2, ["a\n", "bé\n", "c\n"], []),
        (3, ["a\n", "bé\n", "c\n"], ["d\n"]),
    ]
    checkpoint = {"path": str(source), "encoding": "utf-8", "position": len("a\nbé\nc\nd\n".encode())}
    assert inlet.checkpoint == checkpoint

    # The next run, as a new process builds it; this one never shut down (a killed process
    # releases its hold on the state, as dropping the link does here).
    del link
    again, recovered = WatchedFileInlet(str(source)), DiskOutlet(str(out))  # state is kept by class name
    link = Link(again, recovered, 1, tags="tail", delivery=delivery)
    assert again.checkpoint == checkpoint  # restored before on_start
    start(again)
    for _ in range(3):
        link.transfer()
    assert lines_of(out) == LINES  # "d" redelivered first, then "e" and "f": none again, none skipped
    assert spilled_on_disk(state) == []


def test_memory_only_delivery_holds_the_commit_back_while_lines_are_spilled(tmp_path, start):
    source, out = tmp_path / "in.txt", tmp_path / "out.txt"
    source.write_text("".join(LINES))
    inlet, outlet = FileInlet(str(source)), DiskOutlet(str(out))
    link = Link(inlet, outlet, 1, tags="tail", delivery=Delivery(retries=0, backoff=NO_WAIT))
    start(inlet)
    outlet.full = True
    link.transfer()
    link.transfer()
    assert link._deliverer.spilled == 2 and inlet.checkpoint == {}  # a crash now would lose them
    outlet.full = False
    link.transfer()
    assert lines_of(out) == LINES[:3]
    assert inlet.checkpoint["position"] == len("a\nbé\nc\n".encode())


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])  # a byte offset; a text file's tell()
def test_the_next_run_reads_on_after_any_line_with_any_line_end(tmp_path, start, encoding):
    """Line ends are read as before (universal newlines), and the cursor lands after each."""
    source = tmp_path / "in.txt"
    source.write_text("a\r\nbé\rc\n\nd", encoding=encoding, newline="")
    expected = ["a\n", "bé\n", "c\n", "\n", "d"]
    for read in range(len(expected) + 1):
        state = tmp_path / f"state{read}"
        first, second = CollectOutlet(), CollectOutlet()
        for outlet, transfers in ((first, read), (second, len(expected))):
            inlet = FileInlet(str(source), encoding=encoding)
            link = Link(inlet, outlet, 1, tags="t", delivery=Delivery(state_dir=state))
            start(inlet)
            for _ in range(transfers):
                link.transfer()
            del link  # the run is over: its hold on the state goes with it
        assert first.payloads + second.payloads == expected


def test_without_delivery_nothing_is_checkpointed_and_a_new_inlet_reads_from_the_start(tmp_path, start):
    source = tmp_path / "in.txt"
    source.write_text("".join(LINES))
    for _ in range(2):
        outlet = CollectOutlet()
        inlet = FileInlet(str(source))
        link = Link(inlet, outlet, 1)
        start(inlet)
        for _ in range(2000):
            link.transfer()
        assert outlet.payloads == LINES and inlet.checkpoint == {}
        assert len(inlet._pending) <= 1024  # cursors nobody commits are not kept forever


@pytest.mark.parametrize(
    ("change", "warning"),
    [
        ({"path": "old.txt"}, None),  # another file: read from its start, as a new file
        ({"position": 10_000}, "reads from the start: the file is shorter than its checkpoint (truncated or replaced?)"),
        ({"encoding": "latin-1"}, "reads from the start: its checkpoint was taken reading latin-1, not utf-8"),
    ],
)
def test_a_checkpoint_of_another_file_or_past_its_end_reads_from_the_start(tmp_path, start, caplog, change, warning):
    source = tmp_path / "in.txt"
    source.write_text("".join(LINES))
    saved = {"path": str(source), "encoding": "utf-8", "position": 2}
    inlet = FileInlet(str(source))
    inlet.checkpoint = {**saved, **change}
    with caplog.at_level(logging.INFO, logger="databay"):
        start(inlet)
    assert inlet.pull(None) == "a\n"
    if warning:
        assert warning in caplog.text
    else:
        assert "FileInlet" not in caplog.text
    resumed = FileInlet(str(source))
    resumed.checkpoint = saved
    assert start(resumed).pull(None) == "bé\n"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a named pipe")
def test_a_pipe_is_read_as_before_and_keeps_no_checkpoint(tmp_path, start):
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    writer = threading.Thread(target=lambda: pipe.write_text("a\r\nb\n"))
    writer.start()
    outlet = CollectOutlet()
    inlet = FileInlet(str(pipe))
    link = Link(inlet, outlet, 1, tags="pipe", delivery=Delivery(state_dir=tmp_path / "state"))
    start(inlet)  # blocks until the writer opens the pipe
    for _ in range(3):
        link.transfer()
    writer.join()
    assert outlet.payloads == ["a\n", "b\n"] and inlet.checkpoint == {}


class Unprintable:
    def __str__(self):
        raise ValueError("no text for this one")

    def __eq__(self, other):  # outlets are pushed copies
        return isinstance(other, Unprintable)

    __hash__ = object.__hash__


@pytest.mark.parametrize(
    ("make_outlet", "good", "bad", "errors", "written"),
    [
        (FileOutlet, [1, "é"], [Unprintable(), "\ud800"], ["ValueError", "UnicodeEncodeError"], "1\né\n"),
        (
            CsvOutlet,
            [{"a": 1}, {"a": "é"}],
            [7, {"a": Unprintable()}, {"a": "\ud800"}],
            ["TypeError", "ValueError", "UnicodeEncodeError"],
            "a\r\n1\r\né\r\n",
        ),
    ],
)
def test_records_an_outlet_cannot_write_go_to_the_dead_letter_and_the_rest_to_the_file(
    tmp_path, make_outlet, good, bad, errors, written
):
    path = tmp_path / "out"
    dead = CollectOutlet()
    outlet = make_outlet(str(path))
    link = Link(ListInlet([bad[0], good[0], *bad[1:], good[1]]), outlet, 1, tags="files", delivery=Delivery(dead_letter=dead))
    link.transfer()
    assert path.read_bytes() == written.encode()
    (letters,) = dead.batches
    assert [record.payload for record in letters] == bad
    assert [record.metadata["__error__"].split(":")[0] for record in letters] == errors
    assert {record.metadata["__outlet__"] for record in letters} == {repr(outlet)}
    assert link._deliverer.spilled == 0 and link.undelivered == 0  # the good ones count as delivered, once


@pytest.mark.parametrize(("make_outlet", "written"), [(FileOutlet, b"{'a': 1}\n"), (CsvOutlet, b"a\r\n1\r\n")])
def test_without_delivery_the_link_reports_the_rejection_after_writing_the_rest(tmp_path, caplog, make_outlet, written):
    path = tmp_path / "out"
    link = Link(ListInlet([{"a": 1}, Unprintable()]), make_outlet(str(path)), 1, ignore_exceptions=True)
    with caplog.at_level(logging.ERROR, logger="databay"):
        link.transfer()
    assert 'Outlet exception: "1 record(s) rejected; first: ' in caplog.text
    assert path.read_bytes() == written
    with pytest.raises(RejectedRecords) as raised:  # an exception like any other, as it propagates
        Link(ListInlet([Unprintable()]), make_outlet(str(path)), 1).transfer()
    assert isinstance(raised.value.__cause__, (ValueError, TypeError))
