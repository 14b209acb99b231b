"""Every runtime setting of cartlift, read once from CARTLIFT_* environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.paths import DEFAULT_VAR_DIR

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class Settings(BaseSettings):
    """Settings shared by the service, the nightly job and the CLI."""

    model_config = SettingsConfigDict(env_prefix="CARTLIFT_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default=f"sqlite+aiosqlite:///{DEFAULT_VAR_DIR}/cartlift.db",
        description="SQLAlchemy async URL: postgresql+asyncpg://... or sqlite+aiosqlite:///...",
    )
    redis_url: str | None = Field(
        default=None, description="Redis URL for the rule store; unset = file snapshots."
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
        description="Comma-separated keys accepted in X-API-Key; empty = the API is open.",
    )
    admin_api_key: SecretStr | None = Field(
        default=None, description="Key for the /admin endpoints; unset = admin disabled."
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
        default=0.5, ge=0, le=1,
        description="The rebuild refuses (exit 3) a rule set that shrank by more than this share.",
    )  # fmt: skip
    rebuild_db_attempts: int = Field(
        default=5, ge=1, le=50, description="Attempts the rebuild makes to reach the database."
    )
    rebuild_db_retry_seconds: float = Field(
        default=2.0, ge=0, le=300, description="First wait between those attempts; it doubles."
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

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        if not value.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
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
        if isinstance(value, str):
            return [key.strip() for key in value.split(",") if key.strip()]
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


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
