"""Answers and command errors say what failed, never where: no host, port, URL or path."""

from __future__ import annotations

from pathlib import Path

from app.main import create_app
from app.settings import Settings
from tests.conftest import serving
from tests.processes import cartlift, clean_env, free_port

CLICK = {"type": "click", "session_id": "s-9", "sku": "card-love"}
PASSWORD = "hunter2-url"


def _nowhere() -> str:
    return f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0"  # nothing listens there


async def test_events_refused_by_an_unreachable_redis_name_no_host(tmp_path: Path) -> None:
    url = _nowhere()
    settings = Settings(redis_url=url, snapshot_dir=tmp_path / "rules", log_level="CRITICAL")
    async with serving(create_app(settings)) as client:
        response = await client.post("/events", json={"events": [CLICK]})

    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    detail = response.json()["detail"]
    assert detail.startswith("events not kept: ") and "connecting" in detail
    assert "127.0.0.1" not in response.text and url.rsplit(":", 1)[1] not in response.text


async def test_events_refused_by_an_unwritable_journal_name_no_path(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    settings = Settings(
        snapshot_dir=tmp_path / "rules", events_journal_dir=blocked / "events", log_level="CRITICAL"
    )
    async with serving(create_app(settings)) as client:
        response = await client.post("/events", json={"events": [CLICK]})

    assert response.status_code == 503, response.text
    assert "Not a directory" in response.json()["detail"]
    assert str(tmp_path) not in response.text and "not-a-directory" not in response.text


def test_command_errors_for_an_unreachable_store_or_database_name_no_place(
    tmp_path: Path,
) -> None:
    redis_url = _nowhere()
    database_url = f"postgresql+asyncpg://shop:{PASSWORD}@127.0.0.1:{free_port()}/shop"
    env = clean_env(
        CARTLIFT_REDIS_URL=redis_url,
        CARTLIFT_DATABASE_URL=database_url,
        CARTLIFT_REBUILD_DB_ATTEMPTS="1",
    )
    for command in (["migrate"], ["rules", "show", "roses-red-12"], ["events", "drain"]):
        done = cartlift(*command, env=env, cwd=tmp_path)
        shown = done.stdout + done.stderr
        assert done.returncode == 1, (command, shown)
        assert "error" in shown and "Traceback" not in shown, (command, shown)
        for place in ("127.0.0.1", redis_url.rsplit(":", 1)[1], PASSWORD, str(tmp_path)):
            assert place not in shown, (command, place, shown)
