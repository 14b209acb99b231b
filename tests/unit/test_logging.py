"""Logs are JSON lines, carry the request id during a request, and never print a secret."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import orjson
import pytest
import structlog
from pydantic import SecretStr

from app.demo.shop import DemoFiles
from app.logs import configure_logging, get_logger, redact
from app.main import create_app
from app.settings import Settings
from tests.conftest import serving
from tests.processes import cartlift, clean_env
from tests.published import PublishedShop, publish_demo_shop

DSN = "postgresql+asyncpg://shop:hunter2-db@127.0.0.1:1/shop"
SECRETS = ("hunter2-db", "client-key-0123456789", "admin-key-0123456789", "guess-key-0123456789")


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every line parsed; a line that is not JSON fails the test."""
    return [orjson.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (DSN, "postgresql+asyncpg://shop:***@127.0.0.1:1/shop"),
        ("redis://:hunter2@cache:6379/0", "redis://:***@cache:6379/0"),
        ("rediss://default:hunter2@cache:6380", "rediss://default:***@cache:6380"),
        (
            "failed: postgresql://u:p%40ss@db/x, retrying",
            "failed: postgresql://u:***@db/x, retrying",
        ),
        ("sqlite+aiosqlite:///var/cartlift.db", "sqlite+aiosqlite:///var/cartlift.db"),
    ],
)
def test_dsn_passwords_are_hidden_and_the_rest_kept(text: str, shown: str) -> None:
    assert redact(text) == shown


def test_log_lines_are_json_with_secret_fields_masked(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", json=True)
    get_logger("tests.fields").info("connecting", dsn=DSN, api_key="client-key-0123456789", rows=3)
    [line] = json_lines(capsys.readouterr().err)
    assert line["event"] == "connecting" and line["level"] == "info" and line["rows"] == 3
    assert line["dsn"] == redact(DSN) and line["api_key"] == "***"


def test_tracebacks_are_redacted_too(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", json=True)
    try:
        raise ConnectionError(f"cannot reach {DSN}")
    except ConnectionError:
        get_logger("tests.traceback").exception("store_down")
    [line] = json_lines(capsys.readouterr().err)
    assert "ConnectionError: cannot reach postgresql+asyncpg://shop:***@" in line["exception"]
    assert "hunter2" not in orjson.dumps(line).decode()


def test_server_library_lines_are_json_with_the_bound_request_id(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", json=True)
    structlog.contextvars.bind_contextvars(request_id="req-7")
    try:
        logging.getLogger("uvicorn.error").warning("lost connection to %s", DSN)
    finally:
        structlog.contextvars.unbind_contextvars("request_id")
    [line] = json_lines(capsys.readouterr().err)
    assert line["request_id"] == "req-7" and line["logger"] == "uvicorn.error"
    assert line["event"] == f"lost connection to {redact(DSN)}"


def test_the_log_level_filters_our_events(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("WARNING", json=True)
    log = get_logger("tests.level")
    log.info("hidden")
    log.warning("shown")
    assert [line["event"] for line in json_lines(capsys.readouterr().err)] == ["shown"]
    configure_logging("INFO", json=True)


@pytest.fixture(scope="module")
async def shop(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path, demo_files: DemoFiles
) -> PublishedShop:
    return await publish_demo_shop(tmp_path_factory.mktemp("logs"), sqlite_template, demo_files)


async def test_a_request_logs_json_with_its_request_id_and_no_secret(
    shop: PublishedShop, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(
        database_url=DSN,  # never reached on the request path, but it is in memory
        snapshot_dir=shop.snapshot_dir,
        api_keys=[SecretStr("client-key-0123456789")],
        admin_api_key=SecretStr("admin-key-0123456789"),
        version_poll_seconds=0.1,
    )
    cart = {"cart": [{"sku": "roses-red-12"}]}
    async with serving(create_app(settings)) as client:
        startup = capsys.readouterr()
        newer = await shop.publish()
        ready = await client.get("/readyz", headers={"x-request-id": "req-42"})
        for _ in range(200):  # the poller loads it; readiness only reports what is held
            if ready.json()["version"] == newer:
                break
            await asyncio.sleep(0.05)
            ready = await client.get("/readyz", headers={"x-request-id": "req-42"})
        guessed = await client.post(
            "/recommend", json=cart, headers={"x-api-key": "guess-key-0123456789"}
        )
        allowed = await client.post(
            "/recommend", json=cart, headers={"x-api-key": "client-key-0123456789"}
        )
        admin = await client.get(
            "/admin/merchandising", headers={"x-api-key": "admin-key-0123456789"}
        )
        during = capsys.readouterr()
    assert (ready.json()["version"], guessed.status_code, allowed.status_code) == (newer, 401, 200)
    assert admin.status_code == 200
    # The test's own HTTP client logs through the same root logger; those lines are not ours.
    lines = [line for line in json_lines(during.err) if line["logger"] != "httpx"]
    assert [line["event"] for line in lines] == ["rules_loaded"]
    assert "request_id" not in lines[0]  # loaded by the poller: no request's id leaks into it
    assert json_lines(startup.err)  # startup lines are JSON as well
    everything = startup.out + startup.err + during.out + during.err
    assert not [secret for secret in SECRETS if secret in everything]


@pytest.mark.parametrize("command", ["migrate", "builds", "demo"])
def test_a_failing_command_never_prints_the_database_password(tmp_path: Path, command: str) -> None:
    done = cartlift(command, env=clean_env(CARTLIFT_DATABASE_URL=DSN), cwd=tmp_path)
    assert done.returncode == 1
    assert "Connect call failed" in done.stdout + done.stderr
    assert "hunter2" not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
