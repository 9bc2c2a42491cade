"""The one settings object. Every knob of the service lives here, read from the environment
(prefix ``GRAFANA_PROXY_``) or a ``.env`` file; nothing else in the package reads the environment."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class AuthMode(StrEnum):
    keys = "keys"
    none = "none"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="GRAFANA_PROXY_", env_file=".env", env_ignore_empty=True, extra="ignore"
    )

    data_dir: Path = Field(
        default=Path("./grafana-proxy-data"),
        description="Directory for the embedded SQLite database and the Parquet archive.",
    )
    db_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the stores. Default: SQLite file `grafana-proxy.db` in the data dir. "
        "PostgreSQL: `postgresql+psycopg://user@host/db`; MySQL/MariaDB: `mysql+pymysql://user@host/db`.",
    )
    auth: AuthMode = Field(
        default=AuthMode.keys,
        description="`keys` (default): every request needs an access key. `none`: no checks, for local "
        "experiments only (the server warns at start-up).",
    )
    host: str = Field(default="127.0.0.1", description="Address `serve` binds to.")
    port: int = Field(default=8080, description="Port `serve` listens on.")

    raw_retention_days: float = Field(default=8, description="How long raw time-series points are kept.")
    rollup_10m_retention_days: float = Field(default=35, description="Retention of the 10-minute tier.")
    rollup_1h_retention_days: float = Field(default=400, description="Retention of the 1-hour tier.")
    rollup_1d_retention_days: float = Field(default=1830, description="Retention of the 1-day tier.")

    max_points_per_series: int = Field(
        default=11_000, description="Hard cap of datapoints in one returned series (Prometheus' limit)."
    )
    default_max_data_points: int = Field(
        default=1000, description="Points per series when a request gives no `maxDataPoints`."
    )
    max_body_bytes: int = Field(
        default=10 * 1024 * 1024, description="Requests with a larger body are refused with 413."
    )
    log_json: bool = Field(default=False, description="Write logs as JSON lines.")
    log_level: str = Field(default="INFO", description="Python logging level.")

    @field_validator("raw_retention_days", "rollup_10m_retention_days", "rollup_1h_retention_days",
                     "rollup_1d_retention_days")
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("retention must be a positive number of days")
        return value

    @property
    def database_url(self) -> str:
        """The effective database URL: the configured one or the embedded SQLite file."""
        if self.db_url:
            return self.db_url
        return f"sqlite:///{(self.data_dir / 'grafana-proxy.db').resolve()}"

    def retention_ms(self) -> dict[str, int]:
        """Retention per tier name ("raw", "10m", "1h", "1d") in milliseconds."""
        day = 86_400_000
        return {
            "raw": int(self.raw_retention_days * day),
            "10m": int(self.rollup_10m_retention_days * day),
            "1h": int(self.rollup_1h_retention_days * day),
            "1d": int(self.rollup_1d_retention_days * day),
        }
