"""The manual's planner examples run unchanged: started as scripts, interrupted once they have shown their output."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

from planner_checks import run_until

EXAMPLES = Path(__file__).parents[2] / "examples"


def run_example(name, ready, tmp_path):
    shutil.copy(EXAMPLES / name, tmp_path / name)
    (tmp_path / "outputs").mkdir()
    return run_until([sys.executable, name], ready, cwd=tmp_path)


def lines(text, pattern):
    return [line for line in text.splitlines() if re.fullmatch(pattern, line)]


def test_basic_inlet(tmp_path):
    result = run_example("basic_inlet.py", lambda out, err: lines(out, r"random_ints\.0 \d+"), tmp_path)
    assert lines(result.stdout, r"random_ints\.0 \d+")


def test_basic_outlet(tmp_path):
    result = run_example("basic_outlet.py", lambda out, err: len(lines(out, r"print_outlet\.\d+ \d+")) >= 2, tmp_path)
    assert lines(result.stdout, r"print_outlet\.\d+ \d+")[:2][1].startswith("print_outlet.1 ")


def test_basic_metadata_prints_only_flagged_records(tmp_path):
    pattern = r"should_print_metadata\.\d+ Record\(payload=\d+, metadata=\{.*\}\)"
    result = run_example("basic_metadata.py", lambda out, err: len(lines(out, pattern)) >= 3, tmp_path)
    printed = lines(result.stdout, pattern)
    assert printed and all("'ConditionalPrintOutlet.SHOULD_PRINT': True" in line for line in printed)
    assert "__inlet__" in printed[0] and "RandomIntInlet(metadata:{" in printed[0]


def test_basic_asynchronous_logs_in_documented_format(tmp_path):
    result = run_example("basic_asynchronous.py", lambda out, err: "async.0 done" in err, tmp_path)
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\|D\| "
    for message in ["async.0 transfer (databay.Link)", "async.0 push starts (databay.basic_asynchronous)", "async.0 done (databay.Link)"]:
        assert lines(result.stderr, stamp + re.escape(message)), result.stderr
    assert len(lines(result.stderr, stamp + r"async\.0 produced:\d+ \(databay\.basic_asynchronous\)")) == 3
    assert len(lines(result.stderr, stamp + r"async\.0 consumed:\d+ \(databay\.basic_asynchronous\)")) == 3


def test_intermediate_outlet_writes_file(tmp_path):
    written = tmp_path / "outputs" / "random_ints.txt"
    run_example("intermediate_outlet.py", lambda out, err: written.exists() and len(written.read_text().split()) >= 2, tmp_path)
    assert all(value.isdigit() for value in written.read_text().split())


def test_extending_inlets_metadata(tmp_path):
    pattern = r"random_ints\.0 Record\(payload=\d+, metadata=\{'animal': '(cat|parrot)', '__inlet__': .*\}\)"
    result = run_example("extending_inlets.py", lambda out, err: lines(out, pattern), tmp_path)
    assert lines(result.stdout, pattern)



def test_headline_demo_lands_documents_with_documented_logs():
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "headline_demo.py"), "--seconds", "2.5"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\|[DI]\| "
    for message in [
        r"Starting ApsPlanner\(threads:30\) \(databay\.BasePlanner\)",
        r"http_to_mongo\.0 transfer \(databay\.Link\)",
        r"http_to_mongo\.0 pulling http://127\.0\.0\.1:\d+/todos/1 \(databay\.HttpInlet\)",
        r"http_to_mongo\.0 written 1 documents into databay\.test_collection \(databay\.MongoOutlet\)",
        r"http_to_mongo\.0 done \(databay\.Link\)",
    ]:
        assert lines(result.stderr, stamp + message), message
    landed = int(re.search(r"(\d+) documents landed", result.stdout).group(1))
    assert landed >= 2 and '"title": "delectus aut autem"' in result.stdout
