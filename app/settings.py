"""Every runtime setting of cartlift, read once from CARTLIFT_* environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.paths import DEFAULT_VAR_DIR
from app.security.keys import check_secret, parse_entry, split_entries
from app.security.keys_file import read_keys_file
from app.security.rate_limit import parse_rate_limit

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class Settings(BaseSettings):
    """Settings shared by the service, the nightly job and the CLI."""

    model_config = SettingsConfigDict(env_prefix="CARTLIFT_", env_file=".env", extra="ignore")

    # Secrets (they may carry a password and name hosts): `**********` in a repr, a dump or
    # a message; only reveal_database_url() / reveal_redis_url() hand out the value itself.
    database_url: SecretStr = Field(
        default=SecretStr(f"sqlite+aiosqlite:///{DEFAULT_VAR_DIR}/cartlift.db"),
        description="SQLAlchemy async URL: postgresql+asyncpg://... or sqlite+aiosqlite:///... "
        "(a secret: never printed).",
    )
    redis_url: SecretStr | None = Field(
        default=None,
        description="Redis URL for the rule store; unset = file snapshots (a secret: never "
        "printed).",
    )
    redis_cluster: bool = Field(
        default=False,
        description="CARTLIFT_REDIS_URL names one node of a Redis Cluster (rules spread over it).",
    )
    snapshot_dir: Path = Field(
        default=DEFAULT_VAR_DIR / "rules",
        description="Directory of the file-snapshot rule store (used when no Redis URL is set).",
    )
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated `SCOPES:SECRET` entries (scopes recommend, customer, events, "
        "admin, metrics joined with +; a bare SECRET may recommend); secrets of 16+ characters. "
        "Unset with no other keys: the API is open, on loopback only.",
    )
    admin_api_key: SecretStr | None = Field(
        default=None, description="Shorthand for one `admin` key (16+ characters)."
    )
    api_keys_file: Path | None = Field(
        default=None,
        description="File of `SCOPES:sha256:HEX` lines (hashed secrets), reread when it changes: "
        "rotate keys without a restart.",
    )
    open_api: bool = Field(
        default=False,
        description="Serve without keys on a non-loopback address (otherwise `serve` refuses).",
    )
    rate_limit: str | None = Field(
        default=None,
        description="Requests per key, e.g. `100/second` or `50/second;customer=5/second` "
        "(a default, then per scope); unset = no limit. Shared through Redis when it is set.",
    )
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING, ERROR or CRITICAL.")
    log_json: bool = Field(
        default=True, description="JSON log lines (false = coloured lines for a terminal)."
    )

    store_timeout_ms: int = Field(
        default=50, ge=1, le=10_000, description="Deadline of one rule-store call on a request."
    )
    store_pool_size: int = Field(
        default=32, ge=1, le=1024, description="Redis connections per API process."
    )
    version_poll_seconds: float = Field(
        default=2.0, gt=0, le=300, description="How often each process looks for a new version."
    )
    breaker_failures: int = Field(
        default=5, ge=1, description="Store failures in a row that open the circuit breaker."
    )
    breaker_reset_seconds: float = Field(
        default=5.0, gt=0, description="How long the open breaker skips the store."
    )
    retry_after_seconds: int = Field(
        default=5, ge=1, description="Retry-After sent with 503 answers."
    )

    max_body_bytes: int = Field(
        default=64 * 1024, ge=1024, description="Largest request body accepted (413 above)."
    )
    max_per_category: int = Field(
        default=2,
        ge=1,
        description=(
            "Most suggestions from one category in one answer while the same source has "
            "others; soft: it reorders, never empties a slot."
        ),
    )
    upsell_max_price_step: float = Field(
        default=0.6, ge=0, description="Largest price rise of an upsell, as a share of the price."
    )

    keep_versions: int = Field(
        default=3, ge=1, description="Rule versions kept for `cartlift rollback`."
    )
    max_shrink: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="The rebuild refuses (exit 3) a rule set that shrank by more than this share.",
    )
    rebuild_db_attempts: int = Field(
        default=5, ge=1, le=50, description="Attempts the rebuild makes to reach the database."
    )
    rebuild_db_retry_seconds: float = Field(
        default=2.0, ge=0, le=300, description="First wait between those attempts; it doubles."
    )
    spark_master: str = Field(
        default="local[*]",
        description="Spark master of `cartlift rebuild --engine spark` (local mode by default).",
    )
    spark_jdbc_jar: Path = Field(
        default=Path("/usr/share/java/postgresql.jar"),
        description="Postgres JDBC driver the Spark engine reads orders with (Debian: "
        "libpostgresql-jdbc-java).",
    )

    upgrade_trigger_ratio: float = Field(
        default=0.8,
        gt=0,
        le=1,
        description="Quota share in use that triggers an upgrade offer (plans may override).",
    )
    upgrade_horizon_months: int = Field(
        default=6, ge=1, le=120, description="Months of usage growth an offered plan must cover."
    )
    upgrade_cooldown_days: float = Field(
        default=14,
        ge=0,
        le=3650,
        description="Days a declined plan is not offered to that customer again (0: no pause).",
    )
    declines_held_max: int = Field(
        default=100_000,
        ge=100,
        le=100_000_000,
        description="Most declines each API process holds (~300 bytes each); past it the oldest "
        "are dropped and counted in cartlift_declines_evicted_total.",
    )

    holdout_percent: float = Field(
        default=0,
        ge=0,
        le=50,
        description="Share of units (customers, else sessions) held out as control, in percent.",
    )
    holdout_salt: str = Field(
        default="cartlift",
        min_length=1,
        max_length=128,
        description="Salt of the arm assignment hash; a new salt starts a new experiment.",
    )
    holdout_arm: Literal["popular", "empty"] = Field(
        default="popular", description="What control units get: popular items, or nothing."
    )
    attribution_hours: float = Field(
        default=24,
        gt=0,
        le=24 * 90,
        description="A purchase line counts as attributed when its SKU was shown this recently.",
    )
    events_journal_dir: Path = Field(
        default=DEFAULT_VAR_DIR / "events",
        description="Journal of events and exposures when no Redis URL is set.",
    )
    events_drain_in_serve: bool = Field(
        default=False, description="`cartlift serve` also drains events into the database."
    )
    events_drain_interval_seconds: float = Field(
        default=1.0, gt=0, le=3600, description="Pause of the background drainer between runs."
    )
    exposure_flush_ms: int = Field(
        default=100,
        ge=1,
        le=10_000,
        description="Longest time an exposure waits in process before it is written out.",
    )
    shutdown_drain_seconds: int = Field(
        default=30,
        ge=0,
        le=3600,
        description="On SIGTERM, how long in-flight requests may run before they are cancelled.",
    )
    shutdown_delay_seconds: float = Field(
        default=0,
        ge=0,
        le=300,
        description="On SIGTERM, how long `serve` keeps accepting with /readyz at 503 before it "
        "stops listening: a few seconds behind a load balancer, so it stops sending first.",
    )

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: SecretStr) -> SecretStr:
        url = value.get_secret_value()
        if not url.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
            raise ValueError(
                "CARTLIFT_DATABASE_URL must start with postgresql+asyncpg:// or sqlite+aiosqlite://"
            )
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.upper() not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return value.upper()

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        entries = split_entries(value) if isinstance(value, str) else value
        if isinstance(entries, list):
            for entry in entries:
                parse_entry(entry.get_secret_value() if isinstance(entry, SecretStr) else entry)
        return entries

    @field_validator("admin_api_key")
    @classmethod
    def _long_admin_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            check_secret(value.get_secret_value())
        return value

    @field_validator("api_keys_file")
    @classmethod
    def _readable_keys_file(cls, value: Path | None) -> Path | None:
        if value is not None:
            read_keys_file(value)  # a broken file stops every command, as a bad key does
        return value

    @field_validator("rate_limit")
    @classmethod
    def _known_rate_limit(cls, value: str | None) -> str | None:
        if value is not None:
            parse_rate_limit(value)
        return value

    @property
    def keys_configured(self) -> bool:
        return bool(self.api_keys) or self.admin_api_key is not None or bool(self.api_keys_file)

    @property
    def is_sqlite(self) -> bool:
        return self.reveal_database_url().startswith("sqlite")

    def reveal_database_url(self) -> str:
        """The database URL itself: for the engine and migrations, never to print."""
        return self.database_url.get_secret_value()

    def reveal_redis_url(self) -> str | None:
        """The Redis URL itself (None when unset or empty): for clients, never to print."""
        url = self.redis_url.get_secret_value() if self.redis_url is not None else ""
        return url or None


class InvalidSettings(ValueError):
    """One `invalid setting CARTLIFT_X: reason` line per problem; values are never echoed."""

    def __init__(self, error: ValidationError) -> None:
        self.lines = [_describe(issue) for issue in error.errors()]
        super().__init__("\n".join(self.lines))


def _describe(issue: ErrorDetails) -> str:
    # The message only: pydantic's own text repeats the input, which may be a password.
    name = f"CARTLIFT_{str(issue['loc'][0]).upper()}" if issue["loc"] else "settings"
    return f"invalid setting {name}: {issue['msg']}"


def read_settings() -> Settings:
    """The settings from the environment (and .env), or InvalidSettings naming each variable."""
    try:
        return Settings()
    except ValidationError as error:
        raise InvalidSettings(error) from None


@lru_cache
def get_settings() -> Settings:
    return read_settings()
