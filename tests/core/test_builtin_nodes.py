import csv

import pytest

from databay import Link, RejectedRecords
from databay.inlets import FileInlet, FileInletMode, NullInlet, RandomIntInlet
from databay.misc import inlet_tester, outlet_tester
from databay.outlets import CsvOutlet, FileOutlet, NullOutlet, PrintOutlet

from databay_testing import CollectOutlet, ListInlet


def run(inlets, outlet, transfers=1):
    inlets = inlets if isinstance(inlets, list) else [inlets]
    for node in (*inlets, outlet):
        node.try_start()
    link = Link(inlets, outlet, 1)
    for _ in range(transfers):
        link.transfer()
    for node in (*inlets, outlet):
        node.try_shutdown()


def test_random_int_inlet_range():
    outlet = CollectOutlet()
    run(RandomIntInlet(min=3, max=5), outlet, transfers=50)
    assert set(outlet.payloads) <= {3, 4, 5} and len(outlet.payloads) == 50
    with pytest.raises(ValueError):
        RandomIntInlet(min=5, max=1)


def test_positional_arguments_as_in_databay_03(tmp_path):
    def processor(records):
        return records

    assert RandomIntInlet(1, 2, {"k": "v"}).metadata == {"k": "v"}
    assert FileInlet(str(tmp_path), FileInletMode.FILE, {"k": "v"}).metadata == {"k": "v"}
    assert PrintOutlet(True, False, processor).processors == [processor]
    assert FileOutlet("out.txt", "a", "utf-8", [processor]).processors == [processor]
    assert CsvOutlet("out.csv", "a", processor).processors == [processor]


def test_null_nodes():
    outlet = CollectOutlet()
    run(NullInlet(), outlet)
    assert outlet.payloads == []
    run(ListInlet([1]), NullOutlet())


def test_file_inlet_line_and_file_modes(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("a\nb\n")
    outlet = CollectOutlet()
    inlet = FileInlet(str(path))
    run(inlet, outlet, transfers=3)
    assert outlet.payloads == ["a\n", "b\n"]
    outlet = CollectOutlet()
    run(FileInlet(str(path), read_mode=FileInletMode.FILE), outlet)
    assert outlet.payloads == ["a\nb\n"]
    with pytest.raises(FileNotFoundError):
        FileInlet(str(tmp_path / "missing")).try_start()


def test_print_outlet(capsys):
    run(ListInlet([1, 2]), PrintOutlet(only_payload=True))
    assert capsys.readouterr().out == "0 1\n0 2\n"
    run(ListInlet([3]), PrintOutlet(only_payload=True, skip_update=True))
    assert capsys.readouterr().out == "3\n"
    run(ListInlet([4]), PrintOutlet())
    assert capsys.readouterr().out.startswith("0 Record(payload=4, metadata={'__inlet__': 'ListInlet(metadata:{})'})")


def test_file_outlet_with_metadata(tmp_path):
    default, other = tmp_path / "default.txt", tmp_path / "sub" / "other.txt"
    run(ListInlet([1, 2]), FileOutlet(str(default)))
    run(ListInlet([3], metadata={FileOutlet.FILEPATH: str(other)}), FileOutlet(str(default)))
    run(ListInlet([4], metadata={FileOutlet.FILEPATH: str(other), FileOutlet.FILE_MODE: "w"}), FileOutlet(str(default)))
    assert default.read_text() == "1\n2\n"
    assert other.read_text() == "4\n"


def test_file_outlet_opens_each_records_file_with_its_mode_in_order(tmp_path):
    """As databay 0.3: a 'w' record truncates what the records before it wrote."""
    path = tmp_path / "out.txt"
    run(ListInlet([1, 2, 3], metadata={FileOutlet.FILE_MODE: "w"}), FileOutlet(str(path)))
    assert path.read_text() == "3\n"
    write = {FileOutlet.FILE_MODE: "w"}
    run([ListInlet([4]), ListInlet([5], metadata=write), ListInlet([6, 7])], FileOutlet(str(path)))
    assert path.read_text() == "5\n6\n7\n"
    run(ListInlet([8, 9]), FileOutlet(str(path), default_file_mode="w"))
    assert path.read_text() == "9\n"
    with pytest.raises(FileExistsError):
        run(ListInlet([1, 2]), FileOutlet(str(tmp_path / "new.txt"), default_file_mode="x"))
    assert (tmp_path / "new.txt").read_text() == "1\n"


def test_csv_outlet_header_once_per_file(tmp_path):
    cats, dogs = tmp_path / "cat.csv", tmp_path / "dog.csv"
    outlet = CsvOutlet(str(cats))
    run(ListInlet([{"a": 1, "b": 2}, {"a": 3, "b": 4}]), outlet)
    run(ListInlet([{"a": 5, "b": 6}]), outlet)
    run(ListInlet([{"a": 7, "b": 8}], metadata={CsvOutlet.CSV_FILE: str(dogs)}), outlet)
    assert list(csv.reader(cats.read_text().splitlines())) == [["a", "b"], ["1", "2"], ["3", "4"], ["5", "6"]]
    assert list(csv.reader(dogs.read_text().splitlines())) == [["a", "b"], ["7", "8"]]


def test_csv_outlet_writes_each_records_own_values_as_databay_03(tmp_path):
    """Keys that differ from the header are not an error: each row holds its record's values, in its key order."""
    path = tmp_path / "rows.csv"
    run(ListInlet([{"a": 1, "b": 2}, {"b": 3, "c": 4}, {"z": 5}]), CsvOutlet(str(path)))
    assert path.read_bytes() == b"a,b\r\n1,2\r\n3,4\r\n5\r\n"


def test_csv_outlet_w_mode_rewrites_header_and_row_per_record(tmp_path):
    path = tmp_path / "last.csv"
    write = {CsvOutlet.FILE_MODE: "w"}
    run([ListInlet([{"a": 1}]), ListInlet([{"b": 2}, {"c": 3}], metadata=write)], CsvOutlet(str(path)))
    assert path.read_bytes() == b"c\r\n3\r\n"
    run([ListInlet([{"d": 4}], metadata=write), ListInlet([{"e": 5}])], CsvOutlet(str(path)))
    assert path.read_bytes() == b"d\r\n4\r\n5\r\n"


def test_csv_outlet_rejects_non_dict_payloads_one_by_one(tmp_path):
    path = tmp_path / "x.csv"
    with pytest.raises(RejectedRecords, match="CsvOutlet.*dict payloads") as raised:
        run(ListInlet([1, {"a": 1}, "b", {"a": 2}]), CsvOutlet(str(path)))
    assert [(record.payload, type(error)) for record, error in raised.value.rejected] == [(1, TypeError), ("b", TypeError)]
    assert path.read_bytes() == b"a\r\n1\r\n2\r\n"  # the header comes from the first row written


class Unprintable:
    def __str__(self):
        raise ValueError("no text for this one")


def test_a_rejected_record_leaves_no_trace_in_any_file(tmp_path):
    """Checked before its file is opened: a 'w' record that cannot be written truncates nothing,
    an 'x' one creates nothing; the header of a new CSV file is the first written row's."""
    kept = tmp_path / "kept.txt"
    kept.write_text("before\n")
    bad = {FileOutlet.FILE_MODE: "w", FileOutlet.FILEPATH: str(kept)}
    with pytest.raises(RejectedRecords):
        run(ListInlet([Unprintable(), "\ud800"], metadata=bad), FileOutlet(str(kept)))
    assert kept.read_text() == "before\n"
    with pytest.raises(RejectedRecords):
        run(ListInlet([Unprintable()]), FileOutlet(str(tmp_path / "new" / "never.txt"), default_file_mode="x"))
    assert not (tmp_path / "new").exists()
    rows = tmp_path / "rows.csv"
    with pytest.raises(RejectedRecords) as raised:
        run(ListInlet([{"\ud800": 1}, {"a": Unprintable()}, {"b": 2}, {"c": "\ud800"}]), CsvOutlet(str(rows)))
    assert [type(error) for _, error in raised.value.rejected] == [UnicodeEncodeError, ValueError, UnicodeEncodeError]
    assert rows.read_bytes() == b"b\r\n2\r\n"


class TestCoreInlets(inlet_tester.InletTester):
    def get_inlet(self):
        return [NullInlet(), RandomIntInlet(), RandomIntInlet(min=10, max=200), ListInlet([{"x": 1}, 2])]


class TestFileOutletWithTester(outlet_tester.OutletTester):
    def get_outlet(self):
        return FileOutlet(self.path)

    def setUp(self):
        import tempfile

        self.path = tempfile.mktemp()
        super().setUp()

    def written(self, outlet):
        try:
            with open(self.path) as file:
                return [eval(line) for line in file]
        except FileNotFoundError:
            return []
