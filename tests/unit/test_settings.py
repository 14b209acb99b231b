"""CARTLIFT_* settings: safe defaults, bad values named at start, the README table in step."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app as cli
from app.main import create_app
from app.readme import with_current_tables
from app.settings import InvalidSettings, Settings, get_settings, read_settings
from tests.processes import cartlift, clean_env

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """No CARTLIFT_* from the caller and no .env file: each test sets exactly what it means."""
    for name in list(os.environ):
        if name.startswith("CARTLIFT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_defaults_use_a_sqlite_file_and_file_snapshots_under_var(env: pytest.MonkeyPatch) -> None:
    settings = read_settings()
    assert settings.reveal_database_url() == "sqlite+aiosqlite:///var/cartlift.db"
    assert settings.redis_url is None and settings.snapshot_dir == Path("var/rules")
    assert settings.api_keys == [] and settings.admin_api_key is None


def test_settings_come_from_the_environment_and_a_dotenv_file(env: pytest.MonkeyPatch) -> None:
    Path(".env").write_text("CARTLIFT_KEEP_VERSIONS=7\nCARTLIFT_REDIS_URL=redis://cache:6379/0\n")
    env.setenv("CARTLIFT_KEEP_VERSIONS", "9")  # the environment wins over the file
    settings = read_settings()
    assert settings.keep_versions == 9 and settings.reveal_redis_url() == "redis://cache:6379/0"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CARTLIFT_STORE_TIMEOUT_MS", "-1"),
        ("CARTLIFT_STORE_TIMEOUT_MS", "fast"),
        ("CARTLIFT_LOG_JSON", "maybe"),
        ("CARTLIFT_LOG_LEVEL", "LOUD"),
        ("CARTLIFT_MAX_SHRINK", "1.5"),
        ("CARTLIFT_DATABASE_URL", "mysql://shop@db/shop"),
    ],
)
def test_an_invalid_value_is_reported_with_the_variable_name(
    env: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    env.setenv(variable, value)
    with pytest.raises(InvalidSettings) as raised:
        read_settings()
    assert raised.value.lines[0].startswith(f"invalid setting {variable}: ")


def test_the_message_never_repeats_the_rejected_value(env: pytest.MonkeyPatch) -> None:
    env.setenv("CARTLIFT_DATABASE_URL", "mysql://shop:hunter2@db/shop")
    with pytest.raises(InvalidSettings) as raised:
        read_settings()
    assert "CARTLIFT_DATABASE_URL" in str(raised.value) and "hunter2" not in str(raised.value)


def test_api_keys_are_split_on_commas_and_never_shown(env: pytest.MonkeyPatch) -> None:
    env.setenv("CARTLIFT_API_KEYS", " key-one-0123456789, admin+metrics:key-two-0123456789")
    settings = read_settings()
    assert [key.get_secret_value() for key in settings.api_keys] == [
        "key-one-0123456789",
        "admin+metrics:key-two-0123456789",
    ]
    assert "key-one" not in repr(settings) and "key-one" not in str(settings.model_dump())


def test_create_app_refuses_to_start_with_an_invalid_setting(env: pytest.MonkeyPatch) -> None:
    env.setenv("CARTLIFT_STORE_TIMEOUT_MS", "-1")
    with pytest.raises(InvalidSettings, match="invalid setting CARTLIFT_STORE_TIMEOUT_MS"):
        create_app()


@pytest.mark.parametrize(
    "command",
    [
        ["serve"],
        ["migrate"],
        ["demo"],
        ["import", "orders", "orders.csv"],
        ["rebuild"],
        ["rollback"],
        ["builds"],
        ["rules", "export"],
        ["campaign", "reactivation"],
        ["report"],
    ],
)
def test_every_command_stops_with_exit_2_naming_the_bad_setting(
    env: pytest.MonkeyPatch, command: list[str]
) -> None:
    env.setenv("CARTLIFT_STORE_TIMEOUT_MS", "-1")
    result = CliRunner().invoke(cli, command)
    assert result.exit_code == 2
    assert "invalid setting CARTLIFT_STORE_TIMEOUT_MS" in result.stderr


def test_the_installed_command_prints_one_line_per_bad_setting(tmp_path: Path) -> None:
    env = clean_env(CARTLIFT_STORE_TIMEOUT_MS="-1", CARTLIFT_LOG_LEVEL="LOUD")
    done = cartlift("serve", "--port", "1", env=env, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "invalid setting CARTLIFT_LOG_LEVEL: Value error, must be one of DEBUG, INFO, WARNING, "
        "ERROR, CRITICAL",
        "invalid setting CARTLIFT_STORE_TIMEOUT_MS: Input should be greater than or equal to 1",
    ]


def test_every_setting_says_what_it_sets() -> None:
    undocumented = [name for name, field in Settings.model_fields.items() if not field.description]
    assert undocumented == []


def test_the_readme_tables_list_every_setting_and_metric() -> None:
    text = README.read_text(encoding="utf-8")
    if with_current_tables(text) != text:
        pytest.fail("the settings or metrics table in README.md is stale: run `make readme`")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CARTLIFT_API_KEYS", ""),
        ("CARTLIFT_API_KEYS", "shop-frontend-0123456789,,"),
        ("CARTLIFT_API_KEYS", "admin:tooshort-secret"[:14]),
        ("CARTLIFT_API_KEYS", "root:shop-frontend-0123456789"),
        ("CARTLIFT_ADMIN_API_KEY", ""),
        ("CARTLIFT_ADMIN_API_KEY", "hunter2hunter2"),
        ("CARTLIFT_API_KEYS_FILE", "no/such/keys/file"),
        ("CARTLIFT_RATE_LIMIT", "lots"),
    ],
)
@pytest.mark.parametrize("command", [["serve"], ["rebuild"], ["rules", "export"], ["migrate"]])
def test_a_bad_key_setting_stops_every_command_naming_it_never_its_value(
    env: pytest.MonkeyPatch, command: list[str], name: str, value: str
) -> None:
    env.setenv(name, value)
    result = CliRunner().invoke(cli, command)
    assert result.exit_code == 2
    assert f"invalid setting {name}:" in result.stderr
    secrets = [part for part in re.split("[:,]", value) if len(part) > 6]
    assert not [secret for secret in secrets if secret in result.stderr]


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "shop.example"])
def test_serve_refuses_a_public_address_without_keys(env: pytest.MonkeyPatch, host: str) -> None:
    result = CliRunner().invoke(cli, ["serve", "--host", host, "--port", "1"])
    assert result.exit_code == 2
    assert "CARTLIFT_API_KEYS" in result.stderr and "CARTLIFT_OPEN_API" in result.stderr


def test_database_and_redis_urls_never_appear_in_a_repr(env: pytest.MonkeyPatch) -> None:
    env.setenv("CARTLIFT_DATABASE_URL", "postgresql+asyncpg://shop:hunter2@db.internal:5432/shop")
    env.setenv("CARTLIFT_REDIS_URL", "redis://:hunter3@cache.internal:6379/0")
    shown = repr(read_settings()) + str(read_settings())
    assert not [
        part for part in ("hunter2", "hunter3", "db.internal", "cache.internal") if part in shown
    ]


def test_database_and_redis_urls_are_secrets_never_shown(env: pytest.MonkeyPatch) -> None:
    database = "postgresql+asyncpg://shop:hunter2-db@db.internal:5432/shop"
    env.setenv("CARTLIFT_DATABASE_URL", database)
    env.setenv("CARTLIFT_REDIS_URL", "redis://:hunter2-cache@cache.internal:6379/0")
    settings = read_settings()

    shown = repr(settings) + str(settings) + settings.model_dump_json() + str(settings.model_dump())
    for part in ("hunter2", "db.internal", "cache.internal"):
        assert part not in shown
    assert settings.reveal_database_url() == database
    assert settings.reveal_redis_url() == "redis://:hunter2-cache@cache.internal:6379/0"


def test_an_empty_redis_url_means_file_snapshots(env: pytest.MonkeyPatch) -> None:
    env.setenv("CARTLIFT_REDIS_URL", "")
    assert read_settings().reveal_redis_url() is None


def test_a_bad_database_url_is_named_without_its_value(env: pytest.MonkeyPatch) -> None:
    env.setenv("CARTLIFT_DATABASE_URL", "mysql://shop:hunter2-db@db.internal/shop")
    with pytest.raises(InvalidSettings) as refused:
        read_settings()
    assert "CARTLIFT_DATABASE_URL" in str(refused.value)
    assert "hunter2" not in str(refused.value) and "db.internal" not in str(refused.value)
