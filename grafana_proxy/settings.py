"""The one settings object. Every knob of the service lives here, read from the environment
(prefix ``GRAFANA_PROXY_``) or a ``.env`` file; nothing else in the package reads the environment."""

from __future__ import annotations

import re
from dataclasses import fields
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from grafana_proxy.vocabulary import BUILTIN_APPLICATIONS

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

_Config = TypeVar("_Config", bound="DataclassInstance")


class AuthMode(StrEnum):
    keys = "keys"
    none = "none"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="GRAFANA_PROXY_",
        env_file=".env",
        env_ignore_empty=True,
        extra="ignore",
        populate_by_name=True,  # Settings(gateway_service_url=...) works for the fields with aliases too
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
    host: str = Field(
        default="127.0.0.1",
        description="Address the api role (`serve`, `run api`), `gateway` and `demo-model` bind to.",
    )
    port: int = Field(default=8080, description="Port the api role (`serve`, `run api`) listens on.")

    raw_retention_days: float = Field(default=8, description="How long raw time-series points are kept.")
    rollup_10m_retention_days: float = Field(default=35, description="Retention of the 10-minute tier.")
    rollup_1h_retention_days: float = Field(default=400, description="Retention of the 1-hour tier.")
    rollup_1d_retention_days: float = Field(default=1830, description="Retention of the 1-day tier.")
    artifact_retention_days: float = Field(
        default=35,
        description="How long artifacts of monitoring applications (reports, plots) are kept; removed by the "
        "controller.",
    )

    max_points_per_series: int = Field(
        default=11_000, description="Hard cap of datapoints in one returned series (Prometheus' limit)."
    )
    default_max_data_points: int = Field(
        default=1000, description="Points per series when a request gives no `maxDataPoints`."
    )
    max_body_bytes: int = Field(
        default=10 * 1024 * 1024, description="Requests with a larger body are refused with 413."
    )
    batch_max_bytes: int = Field(
        default=20 * 1024**3,
        gt=0,
        description="Largest batch file (POST .../batches); it is streamed to the data dir, not held in memory.",
    )
    bootstrap_key: SecretStr | None = Field(
        default=None,
        description="A read key for every project registered at start-up if missing (stored hashed), so a "
        "provisioned Grafana works with no manual step. Must look like a key from `keys create` (gp_...).",
    )

    # Ingest (events API and gateway)
    spool_dir: Path | None = Field(
        default=None,
        description="Write-ahead spool of accepted events (default: <data_dir>/spool); one subdirectory per process.",
    )
    spool_segment_bytes: int = Field(
        default=64 * 1024 * 1024, gt=0, description="Spool segment size before a new file starts."
    )
    ingest_max_batch_events: int = Field(default=10_000, gt=0, description="Most events in one POST /events.")
    ingest_max_attempts: int = Field(
        default=3, gt=0, description="Attempts to fold a spool record before it moves to the dead-letter store."
    )
    dedup_retention_hours: float = Field(
        default=168, gt=0, description="How long request_ids are remembered for idempotency."
    )
    archive_url: str | None = Field(
        default=None,
        description="Parquet archive: a path or any fsspec URL (s3://bucket/prefix). Default: <data_dir>/archive.",
    )
    archive_batch_events: int = Field(default=10_000, gt=0, description="Archive flush after this many rows...")
    archive_batch_seconds: float = Field(default=60, gt=0, description="...or after this many seconds.")
    window_period_seconds: float = Field(default=30, gt=0, description="Period of the stream-window series points.")
    window_lateness_seconds: float = Field(
        default=30, ge=0, description="How long a window point waits for late events before it is written."
    )
    sample_window: int = Field(
        default=10, ge=1, description="Every Nth event's feature values are stored as feature series."
    )
    gateway_connect_timeout: float = Field(
        default=2.0, gt=0, description="Gateway: seconds to connect to the model service (then 502)."
    )
    gateway_read_timeout: float = Field(
        default=30.0, gt=0, description="Gateway: seconds to wait for an answer (then 504)."
    )
    gateway_queue_size: int = Field(
        default=10_000, gt=0, description="Gateway: calls queued for recording before it spools inline."
    )
    gateway_max_connections: int = Field(default=100, gt=0, description="Gateway: connections to the model service.")
    # The monitor gateway's original deployment names these three SERVICE_URL, TABLE_NAME and DB_URL;
    # they stay accepted so an existing deployment keeps working. An explicit command-line option wins.
    gateway_service_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("GRAFANA_PROXY_GATEWAY_SERVICE_URL", "SERVICE_URL"),
        description="Gateway: URL of the model service it forwards calls to (`--service-url`).",
    )
    gateway_table_name: str | None = Field(
        default=None,
        validation_alias=AliasChoices("GRAFANA_PROXY_GATEWAY_TABLE_NAME", "TABLE_NAME"),
        description="Gateway: also write one row per call into this plain SQL table (`--table`).",
    )
    gateway_db_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("GRAFANA_PROXY_GATEWAY_DB_URL", "DB_URL"),
        description="Gateway: SQLAlchemy URL of the database holding that table (`--db-url`); default: the "
        "stores' database.",
    )

    # Scale-out: the event log on NATS JetStream (empty URL = the embedded spool above)
    stream_url: str = Field(
        default="",
        description="Event log for several api and ingest processes: `nats://host:4222` (comma-separated for a "
        "cluster). Empty (default): the embedded spool, for one machine.",
    )
    stream_name: str = Field(
        default="GRAFANA_PROXY_EVENTS",
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="JetStream stream holding accepted event batches (created if missing, checked if present).",
    )
    stream_subject_prefix: str = Field(
        default="grafana-proxy.events",
        pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$",
        description="Subjects of the stream: `<prefix>.<project>`.",
    )
    stream_replicas: int = Field(
        default=1, ge=1, le=5, description="JetStream replicas of the stream (3 on a 3-node NATS cluster)."
    )
    stream_max_age_hours: float = Field(
        default=168, gt=0, description="Unconsumed batches older than this are dropped by JetStream."
    )
    stream_max_bytes: int = Field(
        default=-1, description="Largest size of the stream on the NATS servers, in bytes (-1: no limit)."
    )
    stream_duplicate_window_seconds: float = Field(
        default=120, gt=0, description="JetStream drops a re-sent batch (same request ids) within this window."
    )
    stream_publish_timeout_seconds: float = Field(
        default=5, gt=0, description="Longest wait for JetStream's acknowledgement before the events API answers 503."
    )
    stream_consumer: str = Field(
        default="grafana-proxy-ingest",
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="Durable pull consumer the ingest processes share (each batch goes to one of them).",
    )
    stream_ack_wait_seconds: float = Field(
        default=60, gt=0, description="A batch not acknowledged by its ingest process within this is redelivered."
    )
    controller_lease_seconds: float = Field(
        default=120,
        gt=0,
        description="Controllers share the work through leases in the database; a dead controller's lease "
        "expires after this and another takes its endpoints.",
    )

    # Monitoring (controller and applications)
    controller_in_serve: bool = Field(
        default=True,
        description="`serve` starts the controller role; set false when `grafana-proxy run controller` runs "
        "elsewhere (another machine, or several controllers).",
    )
    monitoring_base_period_minutes: float = Field(
        default=10, gt=0, description="How often the monitoring controller analyses a window (MLRun's base_period)."
    )
    monitoring_applications: list[str] = Field(
        default=list(BUILTIN_APPLICATIONS),
        description="Enabled monitoring applications, by name.",
    )
    monitoring_application_paths: list[str] = Field(
        default=[],
        description="User applications as 'package.module:Class' (entry points group grafana_proxy.applications "
        "also works).",
    )
    monitoring_params: dict[str, Any] = Field(
        default={},
        description="Application parameters for every project, e.g. latency_detected_us, error_rate_potential, "
        "accuracy_potential, drift_share, task, ground_truth_delay_minutes.",
    )
    monitoring_project_params: dict[str, dict[str, Any]] = Field(
        default={},
        description="Per-project overrides of monitoring_params; an endpoint label with the same name wins over both.",
    )
    drift_potential: float = Field(
        default=0.5, description="General drift at or above this is a potential drift (0 < potential < detected < 1)."
    )
    drift_detected: float = Field(default=0.7, description="General drift at or above this is detected drift.")
    drift_tests: list[str] = Field(
        default=[], description="Extra per-feature tests: ks, chisquare, psi, wasserstein, jensenshannon."
    )
    drift_test_thresholds: dict[str, float] = Field(
        default={}, description="Override a test's threshold (defaults: ks/chisquare p 0.05, others 0.1)."
    )
    drift_segments: list[dict[str, Any]] = Field(
        default=[],
        description='Segments analysed separately, e.g. [{"name": "country=DE", "column": "country", "value": "DE"}].',
    )
    monitoring_window_delay_seconds: float | None = Field(
        default=None, description="Wait after a window ends before analysing it; default archive_batch_seconds + 30."
    )
    monitoring_max_windows_per_pass: int = Field(
        default=1000, ge=1, description="Catch-up cap per endpoint per pass; the rest is done next pass."
    )

    metrics_public: bool = Field(
        default=False,
        description="Serve `GET /metrics` without an access key. Default: a key is needed (Prometheus sends it "
        "with `authorization: {credentials: <key>}`) and model metrics show only that key's projects.",
    )
    log_json: bool = Field(default=False, description="Write logs as JSON lines.")
    log_level: str = Field(default="INFO", description="Python logging level.")

    @field_validator(
        "raw_retention_days",
        "rollup_10m_retention_days",
        "rollup_1h_retention_days",
        "rollup_1d_retention_days",
        "artifact_retention_days",
    )
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("retention must be a positive number of days")
        return value

    @field_validator("bootstrap_key")
    @classmethod
    def _key_format(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"gp_[0-9a-f]{8}_[A-Za-z0-9_-]{43,}", value.get_secret_value()):
            raise ValueError(
                "must look like a key from `grafana-proxy keys create`: gp_<8 hex>_<43+ url-safe characters>; "
                "make one with: python -c \"import secrets; print('gp_' + secrets.token_hex(4) + '_' + "
                'secrets.token_urlsafe(32))"'
            )
        return value

    @property
    def database_url(self) -> str:
        """The effective database URL: the configured one or the embedded SQLite file."""
        if self.db_url:
            return self.db_url
        return f"sqlite:///{(self.data_dir / 'grafana-proxy.db').resolve()}"

    @property
    def spool_path(self) -> Path:
        """The effective spool directory: the configured one or ``<data_dir>/spool``."""
        return self.spool_dir or Path(self.data_dir) / "spool"

    @property
    def archive_location(self) -> str:
        """The effective archive URL: the configured one or ``<data_dir>/archive`` (absolute)."""
        return self.archive_url or str((Path(self.data_dir) / "archive").resolve())

    def derive(self, config: type[_Config], **computed: Any) -> _Config:
        """A typed config dataclass whose fields are named like settings: each field is read from here
        unless ``computed`` gives it, so a config never repeats a default or renames a knob."""
        values = {f.name: computed[f.name] if f.name in computed else getattr(self, f.name) for f in fields(config)}
        return config(**values)

    def retention_ms(self) -> dict[str, int]:
        """Retention per tier name ("raw", "10m", "1h", "1d") in milliseconds."""
        day = 86_400_000
        return {
            "raw": int(self.raw_retention_days * day),
            "10m": int(self.rollup_10m_retention_days * day),
            "1h": int(self.rollup_1h_retention_days * day),
            "1d": int(self.rollup_1d_retention_days * day),
        }

    def artifact_retention_ms(self) -> int:
        """How long artifacts are kept, in milliseconds (after their window ends)."""
        return int(self.artifact_retention_days * 86_400_000)
