"""Write the OpenAPI document as YAML, or check that the committed one is current."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from app.main import create_app
from app.settings import Settings


def render() -> str:
    app = create_app(Settings(redis_url=None))
    return yaml.safe_dump(app.openapi(), sort_keys=False, allow_unicode=True, width=100)


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "--check":
        if Path(argv[1]).read_text(encoding="utf-8") != render():
            print(f"{argv[1]} is stale: run `make openapi`", file=sys.stderr)
            return 1
        return 0
    sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
