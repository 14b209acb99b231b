"""Every runtime setting of cartlift, read once from CARTLIFT_* environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_VAR_DIR = Path("var")


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
    snapshot_dir: Path = Field(default=DEFAULT_VAR_DIR / "rules")
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    admin_api_key: SecretStr | None = None
    log_level: str = "INFO"
    log_json: bool = True

    store_timeout_ms: int = Field(default=50, ge=1, le=10_000)
    store_pool_size: int = Field(default=32, ge=1, le=1024)
    version_poll_seconds: float = Field(default=2.0, gt=0, le=300)
    breaker_failures: int = Field(default=5, ge=1)
    breaker_reset_seconds: float = Field(default=5.0, gt=0)
    retry_after_seconds: int = Field(default=5, ge=1)

    max_cart_lines: int = Field(default=100, ge=1)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    max_per_category: int = Field(default=2, ge=1)
    upsell_max_price_step: float = Field(default=0.6, ge=0)

    keep_versions: int = Field(default=3, ge=1)
    max_shrink: float = Field(default=0.5, ge=0, le=1)
    rebuild_db_attempts: int = Field(
        default=5, ge=1, le=50, description="Attempts the rebuild makes to reach the database."
    )
    rebuild_db_retry_seconds: float = Field(
        default=2.0, ge=0, le=300, description="First wait between those attempts; it doubles."
    )

    upgrade_trigger_ratio: float = Field(default=0.8, gt=0, le=1)
    upgrade_horizon_months: int = Field(default=6, ge=1, le=120)
    upgrade_cooldown_days: int = Field(default=14, ge=0)

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        if not value.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
            raise ValueError(
                "CARTLIFT_DATABASE_URL must start with postgresql+asyncpg:// or sqlite+aiosqlite://"
            )
        return value

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return [key.strip() for key in value.split(",") if key.strip()]
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
