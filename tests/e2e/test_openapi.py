"""The committed openapi.yaml is the app's document, rendered the same way everywhere."""

from __future__ import annotations

import difflib
import subprocess
import sys
from pathlib import Path

import pytest

from app.openapi import render
from tests.processes import clean_env

COMMITTED = Path(__file__).resolve().parents[2] / "openapi.yaml"


def test_committed_openapi_yaml_is_current() -> None:
    committed, current = COMMITTED.read_text(encoding="utf-8"), render()
    if committed != current:
        diff = difflib.unified_diff(
            committed.splitlines(), current.splitlines(), "openapi.yaml", "app", lineterm="", n=1
        )
        pytest.fail("openapi.yaml is stale: run `make openapi`\n" + "\n".join(list(diff)[:40]))


def test_openapi_document_ignores_hash_seed_and_settings() -> None:
    env = clean_env(
        PYTHONHASHSEED="4242",
        CARTLIFT_API_KEYS="a-long-secret-0123456789,b-long-secret-0123456789",
        CARTLIFT_MAX_BODY_BYTES="2048",
    )
    elsewhere = subprocess.run(
        [sys.executable, "-m", "app.openapi"], env=env, capture_output=True, text=True, check=True
    )
    assert elsewhere.stdout == render()
