"""The manual's examples that need only core run, and print what the manual says."""

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[2] / "examples"

EXPECTED = {
    "processors.py": "0 200\n0 333\n",
    "groupers.py": "0 [{'name': 'a', 'value': 1}, {'name': 'a', 'value': 2}]\n"
    "0 [{'name': 'b', 'value': 3}, {'name': 'b', 'value': 4}]\n",
    "buffers.py": "".join(f"2 {i}\n" for i in [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2]),
}


@pytest.mark.parametrize("example", sorted(EXPECTED))
def test_core_example(example):
    result = subprocess.run([sys.executable, str(EXAMPLES / example)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == EXPECTED[example]
