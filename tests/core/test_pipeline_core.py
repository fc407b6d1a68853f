"""Pipeline pieces that need only core: durations, Link.flush, the missing-plugin hint."""

import subprocess
import sys
from datetime import timedelta

import pytest

from databay import Link
from databay.durations import parse_duration
from databay.plugins import nodes
from databay.support.buffers import Buffer

from databay_testing import CollectOutlet, ListInlet


@pytest.mark.parametrize(
    ("text", "seconds"), [(5, 5), (2.5, 2.5), ("5s", 5), ("2m", 120), ("1h", 3600), ("1h30m", 5400), ("250ms", 0.25)]
)
def test_durations(text, seconds):
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["5x", "", "s5", -1, 0, True, None])
def test_bad_durations(text):
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_flush_releases_link_and_outlet_buffers_without_pulling():
    link_buffer, outlet_buffer = Buffer(count_threshold=100), Buffer(count_threshold=100)
    inlet, outlet = ListInlet([1, 2]), CollectOutlet(processors=outlet_buffer)
    link = Link(inlet, outlet, 1, processors=link_buffer)
    link.transfer()
    assert outlet.payloads == [] and inlet.pulls == 1
    link.flush()
    assert inlet.pulls == 1 and sorted(outlet.payloads) == [1, 2]
    assert link_buffer.records == [] and outlet_buffer.records == []


def test_missing_planner_plugin_names_the_distribution(tmp_path):
    if "ApsPlanner" in nodes("planner"):
        pytest.skip("databay-aps is installed here")
    path = tmp_path / "p.toml"
    path.write_text('[planner]\ntype = "ApsPlanner"\n[[links]]\ninterval = 1\n[[links.inlets]]\ntype = "NullInlet"\n'
                    '[[links.outlets]]\ntype = "NullOutlet"\n')
    result = subprocess.run([sys.executable, "-c", "from databay.cli import cli; cli()", "run", "--check", str(path)],
                            capture_output=True, text=True)
    assert result.returncode == 2 and 'pip install databay-aps' in result.stderr
