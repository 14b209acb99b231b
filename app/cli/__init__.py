"""The `cartlift` command: one entry point for the service, the nightly job and the data."""

from __future__ import annotations

from app.cli.main import app, main

__all__ = ["app", "main"]
