"""The CLI's help imports Typer and Rich only: no database, store, numpy or report stack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# What `--help` has no use for; each costs a noticeable share of a second to import (Markdown
# and Pygments come with Typer's Rich help, which the CLI turns off for that reason).
HEAVY_PACKAGES = (
    "sqlalchemy",
    "asyncpg",
    "aiosqlite",
    "alembic",
    "redis",
    "numpy",
    "scipy",
    "pandas",
    "matplotlib",
    "pydantic",
    "pydantic_settings",
    "structlog",
    "fastapi",
    "starlette",
    "uvicorn",
    "prometheus_client",
    "httpx",
    "yaml",
    "mlxtend",
    "markdown_it",
    "pygments",
)
# Our own modules that pull those in; the CLI package and light constants are fine.
HEAVY_APP_MODULES = (
    "app.analytics",
    "app.api",
    "app.db",
    "app.demo",
    "app.evaluation",
    "app.importing",
    "app.jobs",
    "app.mining",
    "app.offers",
    "app.report",
    "app.serving",
    "app.store",
    "app.settings",
    "app.logs",
    "app.metrics",
    "app.main",
    "app.events",
)
# Print what the command imported, after it ran, as the last line of stderr.
PROBE = """
import json, sys
sys.argv = ["cartlift", *sys.argv[1:]]
from app.cli import main
try:
    main()
except SystemExit:
    pass
sys.stderr.write("\\n" + json.dumps(sorted(sys.modules)) + "\\n")
"""
HELP_COMMANDS = [
    ["--help"],
    ["rebuild", "--help"],
    ["serve", "--help"],
    ["import", "--help"],
    ["evaluate", "--help"],
    ["report", "--help"],
    ["rules", "--help"],
    ["rules", "export", "--help"],
    ["campaign", "next-sale", "--help"],
    ["events", "drain", "--help"],
    ["experiment", "report", "--help"],
]


def imported_by(args: list[str], env: dict[str, str] | None = None) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "100", **(env or {})},
        check=True,
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def heavy(modules: set[str]) -> list[str]:
    return sorted(
        name
        for name in modules
        if name.split(".")[0] in HEAVY_PACKAGES
        or any(name == m or name.startswith(m + ".") for m in HEAVY_APP_MODULES)
    )


@pytest.mark.parametrize("args", HELP_COMMANDS, ids=" ".join)
def test_help_imports_no_heavy_module(args: list[str]) -> None:
    assert heavy(imported_by(args)) == []


def test_the_probe_sees_heavy_imports(tmp_path: Path) -> None:
    """The check can fail: a command that runs (not just its help) imports what it needs."""
    env = {"CARTLIFT_REDIS_URL": "", "CARTLIFT_SNAPSHOT_DIR": str(tmp_path)}
    found = heavy(imported_by(["rules", "show", "roses"], env))
    assert {"sqlalchemy", "app.store"} <= set(found)
