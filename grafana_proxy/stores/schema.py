"""The database schema as SQLAlchemy Core tables on one ``MetaData``. The stores build their statements
from these tables; the Alembic revisions create exactly this schema (a test compares the migrated
database with this module on SQLite, PostgreSQL and MariaDB).

Design notes:
- Every value column is double precision (``Double``): MySQL's ``FLOAT`` is single precision.
- Times are BIGINT epoch milliseconds; no TIMESTAMP types, so no time-zone surprises between backends.
- Composite unique keys stay under MySQL's 3072-byte index limit with utf8mb4 (4 bytes per character).
- On SQLite the point and rollup tables are WITHOUT ROWID: rows are stored in (series_id, time) order,
  so a range scan of one series reads neighbouring pages instead of jumping through a rowid index
  (InnoDB clusters by primary key anyway).
- The endpoint record's live stats are their own narrow columns so the endpoints table never reads the
  large JSON documents. Those (feature_stats, current_stats, drift_measures, metrics: tens of kB per
  endpoint) live in ``endpoint_documents``, one row per endpoint: in SQLite a wide row fills whole
  pages, and reading 10,000 narrow summaries from such rows took ~300 ms instead of ~30 ms."""

from __future__ import annotations

from sqlalchemy import (
    CHAR,
    JSON,
    BigInteger,
    Boolean,
    Column,
    Double,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql

metadata = MetaData()
# Case-sensitive, 4-byte UTF-8 on MySQL/MariaDB whatever the server default, like SQLite and PostgreSQL:
# "Churn" and "churn" are different endpoints and series everywhere. NO PAD: MariaDB's utf8mb4_bin is a
# PAD SPACE collation ("alpha " = "alpha"), utf8mb4_nopad_bin compares byte for byte like the others.
MYSQL_CHARSET = "utf8mb4"
MYSQL_COLLATE = "utf8mb4_nopad_bin"

PROJECT_LEN = 128
UID_LEN = 64
NAME_LEN = 255
APP_LEN = 128

# JSON on all three backends. SQLAlchemy serialises and parses it itself, so MariaDB's JSON (an alias
# of LONGTEXT) still comes back as dicts and lists; ``none_as_null`` stores Python None as SQL NULL.
JsonValue = JSON(none_as_null=True)
# TEXT is 64 kB on MySQL; URIs and names can be long, so use the unbounded text type there.
LongText = Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")


endpoints = Table(
    "endpoints",
    metadata,
    Column("project", String(PROJECT_LEN), primary_key=True),
    Column("uid", String(UID_LEN), primary_key=True),
    Column("name", String(NAME_LEN), nullable=False, default=""),
    Column("function_uri", String(512), nullable=False, default=""),
    Column("model", String(NAME_LEN), nullable=False, default=""),
    Column("model_class", String(NAME_LEN), nullable=False, default=""),
    Column("drift_status", Integer, nullable=False, default=-1),
    Column("error_count", BigInteger, nullable=False, default=0),
    Column("first_request", BigInteger),
    Column("last_request", BigInteger),
    Column("endpoint_type", Integer, nullable=False, default=1),
    Column("active", Boolean, nullable=False, default=True),
    Column("monitoring_mode", String(32), nullable=False, default="enabled"),
    Column("state", String(32), nullable=False, default="ready"),
    Column("sampling_percentage", Double, nullable=False, default=100.0),
    Column("predictions_per_second", Double),
    Column("latency_avg_5m", Double),
    Column("latency_avg_1h", Double),
    Column("predictions_count_5m", Double),
    Column("predictions_count_1h", Double),
    Column("accuracy", Double),
    Column("model_uri", LongText, nullable=False, default=""),
    Column("labels", JsonValue),
    Column("feature_names", JsonValue),
    Column("label_names", JsonValue),
    sqlite_with_rowid=False,  # a project's listing reads its rows in uid order, no lookup per row
    mysql_charset=MYSQL_CHARSET,
    mysql_collate=MYSQL_COLLATE,
)

# The large JSON fields of an endpoint record, kept apart so listing endpoints never touches them.
endpoint_documents = Table(
    "endpoint_documents",
    metadata,
    Column("project", String(PROJECT_LEN), primary_key=True),
    Column("uid", String(UID_LEN), primary_key=True),
    Column("feature_stats", JsonValue),
    Column("current_stats", JsonValue),
    Column("drift_measures", JsonValue),
    Column("metrics", JsonValue),
    mysql_charset=MYSQL_CHARSET,
    mysql_collate=MYSQL_COLLATE,
)
DOCUMENT_FIELDS: tuple[str, ...] = ("feature_stats", "current_stats", "drift_measures", "metrics")

series = Table(
    "series",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project", String(PROJECT_LEN), nullable=False),
    Column("endpoint_uid", String(UID_LEN), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("name", String(NAME_LEN), nullable=False),
    # What lets a reader cache aggregated buckets across processes: ``last_ts`` is the newest point
    # time ever written (NULL before the first point), ``rev`` changes whenever a write lands at or
    # before ``last_ts`` or old data is pruned. Buckets that end before ``last_ts`` stay valid as long
    # as ``rev`` does; a new series starts at a random ``rev`` so a recreated one never matches.
    Column("rev", BigInteger, nullable=False, server_default="0"),
    Column("last_ts", BigInteger, nullable=True),
    UniqueConstraint("project", "endpoint_uid", "kind", "name", name="uq_series_key"),
    mysql_charset=MYSQL_CHARSET,
    mysql_collate=MYSQL_COLLATE,
)

points = Table(
    "points",
    metadata,
    Column("series_id", Integer, primary_key=True, autoincrement=False),
    Column("ts", BigInteger, primary_key=True, autoincrement=False),
    Column("value", Double, nullable=False),
    sqlite_with_rowid=False,
    mysql_charset=MYSQL_CHARSET,
    mysql_collate=MYSQL_COLLATE,
)


def _rollup(name: str) -> Table:
    """One pre-aggregated tier: a row per (series, bucket start) with what every aggregation needs."""
    return Table(
        name,
        metadata,
        Column("series_id", Integer, primary_key=True, autoincrement=False),
        Column("bucket", BigInteger, primary_key=True, autoincrement=False),
        Column("count", BigInteger, nullable=False),
        Column("sum", Double, nullable=False),
        Column("min", Double, nullable=False),
        Column("max", Double, nullable=False),
        Column("last", Double, nullable=False),
        Column("last_ts", BigInteger, nullable=False),
        sqlite_with_rowid=False,
        mysql_charset=MYSQL_CHARSET,
        mysql_collate=MYSQL_COLLATE,
    )


rollup_10m = _rollup("rollup_10m")
rollup_1h = _rollup("rollup_1h")
rollup_1d = _rollup("rollup_1d")

# Tier name -> (table, bucket size in ms), finest first. "raw" is the points table (no bucket).
TIERS: tuple[tuple[str, Table, int], ...] = (
    ("10m", rollup_10m, 600_000),
    ("1h", rollup_1h, 3_600_000),
    ("1d", rollup_1d, 86_400_000),
)

app_results = Table(
    "app_results",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("project", String(PROJECT_LEN), nullable=False),
    Column("endpoint_uid", String(UID_LEN), nullable=False),
    Column("application", String(APP_LEN), nullable=False),
    Column("name", String(NAME_LEN), nullable=False),
    Column("kind", Integer, nullable=False),
    Column("status", Integer, nullable=False),
    Column("value", Double, nullable=False),
    Column("start_infer_time", BigInteger, nullable=False),
    Column("end_infer_time", BigInteger, nullable=False),
    Column("extra_data", JsonValue),
    UniqueConstraint("project", "endpoint_uid", "application", "name", "end_infer_time", name="uq_app_results_key"),
    Index("ix_app_results_endpoint_time", "project", "endpoint_uid", "end_infer_time"),
    Index("ix_app_results_project_time", "project", "end_infer_time"),
    mysql_charset=MYSQL_CHARSET,
    mysql_collate=MYSQL_COLLATE,
)

access_keys = Table(
    "access_keys",
    metadata,
    Column("key_id", String(16), primary_key=True),
    Column("name", String(NAME_LEN), nullable=False),
    Column("secret_hash", CHAR(64), nullable=False),
    Column("projects", JsonValue),
    Column("scope", String(8), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger),
    mysql_charset=MYSQL_CHARSET,
    mysql_collate=MYSQL_COLLATE,
)

# -- monitoring pipeline: ground truth for model performance, controller progress ----------------

ground_truth = Table(
    "ground_truth",
    metadata,
    Column("project", String(PROJECT_LEN), primary_key=True),
    Column("request_id", String(NAME_LEN), primary_key=True),
    Column("endpoint_uid", String(UID_LEN)),
    Column("timestamp", BigInteger, nullable=False),
    Column("value", JsonValue),
    mysql_charset=MYSQL_CHARSET,
    mysql_collate=MYSQL_COLLATE,
)

monitoring_schedules = Table(
    "monitoring_schedules",
    metadata,
    Column("project", String(PROJECT_LEN), primary_key=True),
    Column("application", String(APP_LEN), primary_key=True),
    Column("endpoint_uid", String(UID_LEN), primary_key=True),
    Column("last_analyzed", BigInteger, nullable=False),
    mysql_charset=MYSQL_CHARSET,
    mysql_collate=MYSQL_COLLATE,
)

# Spool records (or, later, stream messages) the ingest fold could not apply after a bounded number of
# attempts: kept byte for byte with the error, until an operator replays or drops them.
LongBlob = LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("source", String(NAME_LEN), nullable=False),
    Column("position", String(64), nullable=False),
    Column("payload", LongBlob, nullable=False),
    Column("error", LongText, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("replay_requested_at", BigInteger),
    UniqueConstraint("source", "position", name="uq_dead_letters_position"),
    mysql_charset=MYSQL_CHARSET,
    mysql_collate=MYSQL_COLLATE,
)

# Per-project monitoring: a row overrides the global settings for that project (enabled, base period).
monitoring_projects = Table(
    "monitoring_projects",
    metadata,
    Column("project", String(PROJECT_LEN), primary_key=True),
    Column("enabled", Boolean, nullable=False),
    Column("base_period_minutes", Double, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    mysql_charset=MYSQL_CHARSET,
    mysql_collate=MYSQL_COLLATE,
)

# A project's monitoring applications: the name results are written under, what runs (a built-in name or
# "package.module:Class"), its parameters and the endpoints it runs on (NULL = every endpoint).
monitoring_applications = Table(
    "monitoring_applications",
    metadata,
    Column("project", String(PROJECT_LEN), primary_key=True),
    Column("name", String(APP_LEN), primary_key=True),
    Column("application", String(NAME_LEN), nullable=False),
    Column("params", JsonValue),
    Column("endpoints", JsonValue),
    Column("updated_at", BigInteger, nullable=False),
    mysql_charset=MYSQL_CHARSET,
    mysql_collate=MYSQL_COLLATE,
)

# What the controller did with each application of a project: written after every pass that ran it.
monitoring_app_status = Table(
    "monitoring_app_status",
    metadata,
    Column("project", String(PROJECT_LEN), primary_key=True),
    Column("name", String(APP_LEN), primary_key=True),
    Column("last_run", BigInteger),
    Column("last_window_end", BigInteger),
    Column("windows", BigInteger, nullable=False, default=0),
    Column("results", BigInteger, nullable=False, default=0),
    Column("errors", BigInteger, nullable=False, default=0),
    Column("last_error", LongText),
    Column("last_error_at", BigInteger),
    mysql_charset=MYSQL_CHARSET,
    mysql_collate=MYSQL_COLLATE,
)

# Batches submitted for analysis as one window each (batch inference); rows live in the archive.
monitoring_batches = Table(
    "monitoring_batches",
    metadata,
    Column("project", String(PROJECT_LEN), primary_key=True),
    Column("batch_id", String(UID_LEN), primary_key=True),
    Column("endpoint_uid", String(UID_LEN), nullable=False),
    Column("start_ms", BigInteger, nullable=False),
    Column("end_ms", BigInteger, nullable=False),
    Column("rows", BigInteger, nullable=False),
    Column("submitted_at", BigInteger, nullable=False),
    Column("analysed_at", BigInteger),
    mysql_charset=MYSQL_CHARSET,
    mysql_collate=MYSQL_COLLATE,
)

# Files the api role accepted (batches, training rows) and staged in the archive storage for the ingest role:
# the queue the ingest processes claim from (status, created_at) and the answer a client polls (upload_id).
uploads = Table(
    "uploads",
    metadata,
    Column("upload_id", String(32), primary_key=True),
    Column("project", String(PROJECT_LEN), nullable=False),
    Column("endpoint_uid", String(UID_LEN), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("fmt", String(16), nullable=False),
    Column("path", String(1024), nullable=False),  # relative to the archive root
    Column("size", BigInteger, nullable=False),
    Column("params", JsonValue),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("created_at", BigInteger, nullable=False),
    Column("claimed_at", BigInteger),
    Column("finished_at", BigInteger),
    Column("result", JsonValue),
    Column("error", LongText),
    Index("ix_uploads_status", "status", "created_at"),
    mysql_charset=MYSQL_CHARSET,
    mysql_collate=MYSQL_COLLATE,
)

# -- artifacts of monitoring applications (reports, documents, plots); the bytes live in the archive ------

artifacts = Table(
    "artifacts",
    metadata,
    # A digest of (project, endpoint, application, window end, name): analysing a window again replaces it.
    Column("id", String(32), primary_key=True),
    Column("project", String(PROJECT_LEN), nullable=False),
    Column("endpoint_uid", String(UID_LEN), nullable=False),
    Column("application", String(APP_LEN), nullable=False),
    Column("name", String(APP_LEN), nullable=False),
    Column("start_infer_time", BigInteger, nullable=False),
    Column("end_infer_time", BigInteger, nullable=False),
    Column("content_type", String(APP_LEN), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("path", String(1024), nullable=False),  # relative to the archive root
    Column("created_at", BigInteger, nullable=False),
    Index("ix_artifacts_endpoint_time", "project", "endpoint_uid", "end_infer_time"),
    Index("ix_artifacts_time", "end_infer_time"),
    mysql_charset=MYSQL_CHARSET,
    mysql_collate=MYSQL_COLLATE,
)

# -- the stream fold (NATS JetStream): several ingest processes fold one stream into these tables ----------

# Idempotency on request_id across processes: a request id's first occurrence is the only one folded.
# ``position`` is where it was first seen (stream sequence << 20 | index in the message), so a message
# delivered again after a crash recognises its own events (to archive them again) without folding them twice.
request_ids = Table(
    "request_ids",
    metadata,
    Column("project", String(PROJECT_LEN), primary_key=True),
    Column("request_id", String(NAME_LEN), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("seen_ms", BigInteger, nullable=False),
    Index("ix_request_ids_seen", "seen_ms"),
    sqlite_with_rowid=False,
    mysql_charset=MYSQL_CHARSET,
    mysql_collate=MYSQL_COLLATE,
)

# Stream-window buckets (grafana_proxy.ingest.windows.Bucket) per endpoint and period start, added to by
# every ingest process (additive upserts), read by the one that emits the endpoint's points.
window_buckets = Table(
    "window_buckets",
    metadata,
    Column("project", String(PROJECT_LEN), primary_key=True),
    Column("endpoint_uid", String(UID_LEN), primary_key=True),
    Column("start_ms", BigInteger, primary_key=True, autoincrement=False),
    Column("count", BigInteger, nullable=False),
    Column("latency_sum", Double, nullable=False),
    Column("latency_n", BigInteger, nullable=False),
    Column("errors", BigInteger, nullable=False),
    Column("requests", BigInteger, nullable=False),
    sqlite_with_rowid=False,
    mysql_charset=MYSQL_CHARSET,
    mysql_collate=MYSQL_COLLATE,
)

# Per endpoint: the newest period end whose points were written, the stream's totals for the endpoint
# record, ``version`` (bumped by every fold) against ``written_version`` (what the record holds), and the
# claim of the process emitting it now (``claimed_by`` until ``claimed_until``).
window_marks = Table(
    "window_marks",
    metadata,
    Column("project", String(PROJECT_LEN), primary_key=True),
    Column("endpoint_uid", String(UID_LEN), primary_key=True),
    Column("emitted_until", BigInteger),
    Column("min_start", BigInteger, nullable=False),
    Column("max_start", BigInteger, nullable=False),
    Column("error_count", BigInteger, nullable=False),
    Column("first_request", BigInteger, nullable=False),
    Column("last_request", BigInteger, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("written_version", BigInteger, nullable=False),
    Column("claimed_by", String(64)),
    Column("claimed_until", BigInteger),
    mysql_charset=MYSQL_CHARSET,
    mysql_collate=MYSQL_COLLATE,
)


# -- controller leases: several controllers share the due work, one unit at a time ---------------------

UNIT_LEN = 80  # "endpoint:<uid>" or "batch:<batch id>"

# A unit of monitoring work (an endpoint's due windows, or a submitted batch) and who holds it until when.
# ``token`` grows at every claim: a write fenced by it fails once another controller took the unit over.
# ``expires_ms`` is on the database's clock, so controllers on machines with skewed clocks agree on it.
controller_leases = Table(
    "controller_leases",
    metadata,
    Column("project", String(PROJECT_LEN), primary_key=True),
    Column("unit", String(UNIT_LEN), primary_key=True),
    Column("holder", String(NAME_LEN), nullable=False),
    Column("token", BigInteger, nullable=False),
    Column("expires_ms", BigInteger, nullable=False),
    Column("claimed_at", BigInteger),
    mysql_charset=MYSQL_CHARSET,
    mysql_collate=MYSQL_COLLATE,
)
