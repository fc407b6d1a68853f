import logging
import re
import subprocess
import sys


def test_default_handler_format_and_level():
    code = """
import logging
from databay import Link
from databay.inlets import NullInlet
from databay.outlets import NullOutlet
link = Link(NullInlet(), NullOutlet(), 1, tags='http_to_mongo')
link.transfer()  # WARNING by default: nothing printed
logging.getLogger('databay').setLevel(logging.DEBUG)
link.transfer()
"""
    err = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stderr.splitlines()
    pattern = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\|D\| http_to_mongo\.1 (transfer|done) \(databay\.Link\)"
    assert len(err) == 2 and all(re.fullmatch(pattern, line) for line in err), err
    assert err[0].endswith("transfer (databay.Link)") and err[1].endswith("done (databay.Link)")


def test_loggers_are_children_of_databay():
    import databay.base_planner  # noqa: F401
    import databay.link  # noqa: F401

    assert logging.getLogger("databay").level == logging.WARNING
    for name in ("databay.Link", "databay.BasePlanner"):
        assert logging.getLogger(name).parent.name == "databay"


def test_shutdown_at_exit(tmp_path):
    code = f"""
import sys, threading
sys.path.insert(0, {str(__import__('pathlib').Path(__file__).parents[1] / 'support')!r})
from databay_testing import ThreadPlanner, CollectOutlet, ListInlet
from databay import Link
class Reporting(CollectOutlet):
    def on_shutdown(self):
        print('on_shutdown ran', flush=True)
planner = ThreadPlanner(Link(ListInlet([1]), Reporting(), 60), shutdown_at_exit=True)
threading.Thread(target=planner.start, daemon=True).start()
while not planner.running:
    pass
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert "on_shutdown ran" in result.stdout


def test_a_failure_is_one_error_line_and_its_traceback_only_at_debug(caplog):
    from databay import Link

    from databay_testing import CollectOutlet, FailingInlet

    link = Link(FailingInlet(), CollectOutlet(), 1, ignore_exceptions=True)
    with caplog.at_level(logging.INFO, logger="databay"):
        link.transfer()
    errors = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert len(errors) == 1 and errors[0].exc_info is None and "inlet broke" in errors[0].getMessage()
    assert "Traceback" not in caplog.text
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="databay"):
        link.transfer()
    assert "Traceback" in caplog.text and "inlet broke" in caplog.text
