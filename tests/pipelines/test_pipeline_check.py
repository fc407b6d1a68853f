"""`databay run --check` on a catalogue of broken files (each problem reported, all at once, exit 2); what a valid file builds."""

import subprocess
import sys

import pytest

from databay.pipeline import load_pipeline

DATABAY = [sys.executable, "-c", "from databay.cli import cli; cli()"]

VALID_LINK = """
[[links]]
tags = ["t"]
interval = "1s"
[[links.inlets]]
type = "RandomIntInlet"
[[links.outlets]]
type = "PrintOutlet"
"""
PLANNER = '[planner]\ntype = "ApsPlanner"\n'

CATALOGUE = {
    "unknown node with close match": (
        PLANNER + VALID_LINK.replace('"RandomIntInlet"', '"RandomIntInlt"'),
        ["link 't' (links[0]).inlets[0]: No inlet named 'RandomIntInlt' is installed. Did you mean: RandomIntInlet?",
         "`databay plugins --all` lists the installed nodes"],
    ),
    "unknown argument": (
        PLANNER + VALID_LINK.replace('type = "PrintOutlet"', 'type = "PrintOutlet"\nonly_paylod = true'),
        ["link 't' (links[0]).outlets[0] (PrintOutlet): unknown argument 'only_paylod' (did you mean 'only_payload'?)"],
    ),
    "missing argument": (
        PLANNER + VALID_LINK.replace('type = "PrintOutlet"', 'type = "CsvOutlet"'),
        ["link 't' (links[0]).outlets[0] (CsvOutlet): missing required argument 'default_filepath'"],
    ),
    "bad delivery": (
        PLANNER + VALID_LINK + '[links.delivery]\nretries = "many"\nbackof = [1, 2]\n[links.delivery.dead_letter]\ntype = "NoOutlet"\n',
        ["link 't' (links[0]).delivery.dead_letter: No outlet named 'NoOutlet' is installed"],
    ),
    "bad delivery backoff": (
        PLANNER + VALID_LINK + '[delivery]\nbackoff = ["soon", "30s"]\n',
        ["link 't' (links[0]).delivery.backoff:"],
    ),
    "wrong type": (
        PLANNER + VALID_LINK.replace('type = "RandomIntInlet"', 'type = "RandomIntInlet"\nmax = "a hundred"'),
        ["link 't' (links[0]).inlets[0] (RandomIntInlet): 'max' must be int, got str 'a hundred'"],
    ),
    "bad duration": (
        PLANNER + VALID_LINK.replace('interval = "1s"', 'interval = "1 fortnight"'),
        ["link 't' (links[0]).interval: '1 fortnight' is not a duration"],
    ),
    "unresolvable callable": (
        PLANNER + VALID_LINK.replace('interval = "1s"', 'interval = "1s"\nprocessors = ["no_such_module:fn", "json:nope", "json"]'),
        ["processors[0]: cannot import module 'no_such_module'", "processors[1]: module 'json' has no attribute 'nope'",
         "processors[2]: 'json' is not a 'module:callable' reference"],
    ),
    "missing environment variable": (
        PLANNER + VALID_LINK.replace('type = "PrintOutlet"', 'type = "FileOutlet"\ndefault_filepath = "${DATABAY_UNSET_VARIABLE}"'),
        ["environment variable DATABAY_UNSET_VARIABLE is not set"],
    ),
    "missing interval": (
        PLANNER + VALID_LINK.replace('interval = "1s"\n', ""),
        ["link 't' (links[0]): missing 'interval'"],
    ),
    "planner interval clash": (
        '[planner]\ntype = "SchedulePlanner"\nrefresh_interval = 5\n' + VALID_LINK,
        ["ScheduleIntervalError", "shorter than the refresh interval"],
    ),
    "not TOML": ("[planner\ntype=", ["not valid TOML"]),
}


@pytest.mark.parametrize("case", sorted(CATALOGUE))
def test_broken_file_is_explained(case, tmp_path):
    text, messages = CATALOGUE[case]
    path = tmp_path / "broken.toml"
    path.write_text(text)
    result = subprocess.run([*DATABAY, "run", "--check", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    for message in messages:
        assert message in result.stderr, result.stderr


def test_all_problems_reported_at_once(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('[planner]\ntype = "NoPlanner"\n' + VALID_LINK.replace('"1s"', '"soon"').replace('"PrintOutlet"', '"NoOutlet"'))
    result = subprocess.run([*DATABAY, "run", "--check", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "3 problem(s)" in result.stderr


def test_buffer_logs_name_their_link(tmp_path, caplog):
    (tmp_path / "owner_controllers.py").write_text("def broken(records):\n    raise ValueError('nope')\n")
    path = tmp_path / "buffered.toml"
    path.write_text(PLANNER + VALID_LINK + '[links.buffer]\ncustom_controllers = "owner_controllers:broken"\n')
    (link,) = load_pipeline(path).links
    link.transfer()
    assert f"in {link!r}: controller broken failed" in caplog.text


def test_delivery_defaults_and_link_overrides_build_a_delivery(tmp_path):
    path = tmp_path / "reliable.toml"
    path.write_text(
        PLANNER
        + '[delivery]\nretries = 5\nbackoff = ["100ms", "2s"]\nstate_dir = "state"\n'
        + VALID_LINK
        + '[links.delivery]\nmax_spill = 10\n[links.delivery.dead_letter]\ntype = "FileOutlet"\n'
        + 'default_filepath = "rejected.jsonl"\n'
    )
    (link,) = load_pipeline(path).links
    delivery = link.delivery
    assert (delivery.retries, delivery.backoff, delivery.max_spill) == (5, (0.1, 2.0), 10)
    assert delivery.state_dir == str(tmp_path / "state")  # relative to the pipeline file
    assert type(delivery.dead_letter).__name__ == "FileOutlet" and delivery.dead_letter in link.nodes


def test_a_wrong_typed_value_is_shown_without_its_secrets(tmp_path):
    path = tmp_path / "secret.toml"
    path.write_text(
        PLANNER + VALID_LINK.replace('type = "RandomIntInlet"', 'type = "HttpInlet"\nurl = ["https://h/x?api_key=TOPSECRET1"]')
    )
    result = subprocess.run([*DATABAY, "run", "--check", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "'url' must be str" in result.stderr
    assert "TOPSECRET1" not in result.stderr and "api_key=***" in result.stderr

