"""Where cartlift keeps its files unless told otherwise (light: the CLI's help reads it)."""

from __future__ import annotations

from pathlib import Path

DEFAULT_VAR_DIR = Path("var")
