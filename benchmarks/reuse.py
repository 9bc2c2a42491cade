"""Rerun query rows against the data of an earlier run kept with ``--work-dir DIR --keep``:
``python -m benchmarks.run --reuse DIR --only Q1,Q2,Q3,Q4``.

Seeding and promtool take minutes; profiling a query change needs only the server and Prometheus on
the data they already hold. What the seed run knew (the range end, the endpoint of Q1/Q2) is read back
from the SQLite file: the seeder's last point of every series sits one step (1 minute) before the end."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from benchmarks import seeddata
from benchmarks.seeddata import SeededData

QUERY_ROWS = ("Q1", "Q2", "Q3", "Q4", "T1")
SEED_STEP_MS = 60_000  # SeedOptions' default step: one point per minute
SERVER_ENV = {"GRAFANA_PROXY_CONTROLLER_IN_SERVE": "false"}


def load_seeded(work: Path) -> SeededData:
    """The ``SeededData`` of the run whose work dir is ``work`` (data/grafana-proxy.db and tsdb/)."""
    db_path = work / "data" / "grafana-proxy.db"
    if not db_path.is_file():
        raise SystemExit(f"--reuse {work}: no {db_path}; keep a run's data with --work-dir DIR --keep")
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        # The seed script picks the first non-router endpoint (by uid) of the main project for Q1/Q2.
        uids = [
            uid
            for (uid,) in conn.execute(
                "SELECT uid FROM endpoints WHERE project = ? AND endpoint_type != 2 ORDER BY uid", (seeddata.PROJECT,)
            )
        ]
        wide = conn.execute("SELECT count(*) FROM endpoints WHERE project = ?", (seeddata.WIDE_PROJECT,)).fetchone()
        if not uids:
            raise SystemExit(f"--reuse {work}: project {seeddata.PROJECT!r} has no endpoints")
        (last,) = conn.execute(
            "SELECT max(p.ts) FROM points p JOIN series s ON s.id = p.series_id "
            "WHERE s.project = ? AND s.endpoint_uid = ? AND s.kind = 'metric' AND s.name = ?",
            (seeddata.PROJECT, uids[0], seeddata.METRIC),
        ).fetchone()
    finally:
        conn.close()
    if last is None:
        raise SystemExit(f"--reuse {work}: no raw points of {seeddata.METRIC} (older than the raw retention?)")
    end_ms = int(last) + SEED_STEP_MS
    return SeededData(
        data_dir=work / "data",
        start_ms=end_ms - 30 * 86_400_000,
        end_ms=end_ms,
        endpoint_uids=tuple(uids),
        single_uid=uids[0],
        points=0,
        seed_seconds=0.0,
        openmetrics_files=(),
        openmetrics_samples=0,
        wide_endpoints=int(wide[0]),
        wide_seconds=0.0,
    )


def parse_only(text: str | None) -> frozenset[str] | None:
    """``--only Q1,Q3`` -> {"Q1", "Q3"}; with ``--reuse`` only the query rows can run."""
    if text is None:
        return None
    wanted = frozenset(part.strip().upper() for part in text.split(",") if part.strip())
    unknown = wanted - set(QUERY_ROWS)
    if unknown or not wanted:
        raise SystemExit(f"--only takes a comma-separated subset of {','.join(QUERY_ROWS)}; got {text!r}")
    return wanted
