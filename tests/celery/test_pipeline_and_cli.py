"""A pipeline file with ``[planner] type = "CeleryPlanner"``: checked like any pipeline, run by
``databay run`` (the scheduler) and ``databay celery worker``, seen by ``databay celery status``."""

from __future__ import annotations

import json
import socket
import subprocess
import textwrap

import pytest
from celery_cluster import DATABAY, wait_for

from databay.pipeline import PipelineError, load_pipeline
from databay_celery import CeleryPlanner
from databay_celery.loading import TargetError, load_target


def _pipeline(tmp_path, url, extra=""):
    path = tmp_path / "pipeline.toml"
    path.write_text(textwrap.dedent(f"""
        [planner]
        type = "CeleryPlanner"
        broker_url = "{url}"
        redelivery = 6
        {extra}

        [[links]]
        tags = ["numbers"]
        interval = "500ms"
        [[links.inlets]]
        type = "RandomIntInlet"
        [[links.outlets]]
        type = "FileOutlet"
        default_filepath = "{tmp_path / 'out.txt'}"
    """))
    return path


def test_a_pipeline_names_the_planner_and_its_options(tmp_path):
    planner = load_pipeline(_pipeline(tmp_path, "redis://:secret@example.invalid:6379/0")).planner
    assert isinstance(planner, CeleryPlanner)
    assert planner.settings.redelivery == 6
    assert list(planner.keyed_links()) == ["numbers"]
    assert "secret" not in repr(planner)
    with pytest.raises(PipelineError, match="redeliver"):
        load_pipeline(_pipeline(tmp_path, "redis://localhost", 'redeliver = 3'))


def test_targets_other_than_a_celery_pipeline_are_refused_with_what_to_do(tmp_path, monkeypatch):
    other = tmp_path / "planner_less.toml"
    text = _pipeline(tmp_path, "redis://x").read_text()
    other.write_text(text[text.index("[[links]]"):])
    with pytest.raises(TargetError, match="CeleryPlanner"):
        load_target(str(other))
    (tmp_path / "python_links.py").write_text(textwrap.dedent("""
        from databay import Link
        from databay.inlets import NullInlet
        from databay.outlets import NullOutlet

        def links():
            return [Link(NullInlet(), NullOutlet(), 1, tags="python")]
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(TargetError, match="--broker-url"):
        load_target("python_links:links")
    assert list(load_target("python_links:links", "redis://localhost").keyed_links()) == ["python"]
    with pytest.raises(TargetError, match="must return a CeleryPlanner"):
        load_target("os:getcwd")


def test_run_and_worker_deliver_and_status_shows_worker_queue_and_last_run(redis_server, tmp_path):
    path = _pipeline(tmp_path, redis_server.url)
    logs = {name: open(tmp_path / f"{name}.log", "wb") for name in ("scheduler", "worker")}  # noqa: SIM115 (closed below)
    scheduler = subprocess.Popen([DATABAY, "run", str(path), "-v"], stdout=logs["scheduler"], stderr=subprocess.STDOUT)
    worker = subprocess.Popen([DATABAY, "celery", "worker", str(path), "-v"], stdout=logs["worker"], stderr=subprocess.STDOUT)

    def shown() -> str:
        return "\n".join(f"--- {name}.log\n{(tmp_path / f'{name}.log').read_text()[-3000:]}" for name in logs)

    try:
        wait_for(lambda: (tmp_path / "out.txt").exists(), 60, "a transfer")

        def status():
            result = subprocess.run([DATABAY, "celery", "status", "--json", str(path)], capture_output=True, check=True)
            return json.loads(result.stdout)

        seen = wait_for(lambda: (lambda s: s if s["links"]["numbers"]["last_run"] and s["leader"] else None)(status()), 30, "status")
        assert [facts["pid"] for facts in seen["workers"].values()] == [worker.pid]
        assert seen["leader"]["pid"] == scheduler.pid
        assert seen["links"]["numbers"]["last_run"]["outcome"] == "delivered"
        assert isinstance(seen["queued"], int)
        table = subprocess.run([DATABAY, "celery", "status", str(path)], capture_output=True, text=True, check=True).stdout
        assert f"pid {worker.pid}" in table and "numbers  last slot" in table
    except AssertionError as error:
        raise AssertionError(f"{error}\n{shown()}") from None
    finally:
        for process in (scheduler, worker):
            process.terminate()
        exits = scheduler.wait(30), worker.wait(60)
        for log in logs.values():
            log.close()
    assert exits == (0, 0), shown()


def test_an_unreachable_redis_is_one_line_without_its_password(tmp_path):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = _pipeline(tmp_path, f"redis://:s3cret-pw@127.0.0.1:{port}/0")
    for command in ("status", "worker"):
        shown = subprocess.run([DATABAY, "celery", command, str(path)], capture_output=True, text=True, timeout=60)
        assert shown.returncode == 1, shown.stderr
        assert "cannot reach Redis at redis://***@127.0.0.1" in shown.stderr
        assert "s3cret-pw" not in shown.stdout + shown.stderr


def test_the_broker_url_can_come_from_the_environment_and_stays_redacted(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from databay_celery.cli import celery_group

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (tmp_path / "env_links.py").write_text(textwrap.dedent("""
        from databay import Link
        from databay.inlets import NullInlet
        from databay.outlets import NullOutlet

        def links():
            return [Link(NullInlet(), NullOutlet(), 1, tags="env")]
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    shown = CliRunner().invoke(celery_group, ["status", "env_links:links"], env={"DATABAY_BROKER_URL": f"redis://:s3cret-pw@127.0.0.1:{port}/0"})
    assert shown.exit_code == 1, shown.output
    assert "cannot reach Redis at redis://***@127.0.0.1" in shown.output
    assert "s3cret-pw" not in shown.output
