"""The JetStream rows of the benchmark (J1, J2, J3): they run alone with ``--only``, measure what they
claim, and say so instead of crashing when NATS or PostgreSQL is missing. Times are not asserted."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from benchmarks import publish_latency, stream_ingest
from benchmarks.procs import free_port
from benchmarks.run import QUICK, main

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def test_benchmarks_never_import_the_tests() -> None:
    # The benchmark is a tool of the project: it must run from an install without the test suite.
    offenders = [
        path.name
        for path in sorted(BENCHMARKS.glob("*.py"))
        if re.search(r"^\s*(from|import)\s+tests\b", path.read_text(), re.MULTILINE)
    ]
    assert offenders == []


@pytest.mark.slow
def test_stream_rows_run_alone(tmp_path: Path) -> None:
    out = tmp_path / "j.json"
    assert main(["--quick", "--only", "J1,J2,J3", "--out", str(out), "--work-dir", str(tmp_path / "work")]) == 0
    rows = {row["id"]: row for row in json.loads(out.read_text())["rows"]}
    assert tuple(rows) == ("J1", "J2", "J3")
    for row in rows.values():
        assert row["status"] == "measured" and row["ours"] is not None, row
    posted = QUICK.ingest_events - QUICK.ingest_batch  # the first batch is folded before the clock runs
    for row_id, workers in (("J1", 1), ("J2", 2)):
        details = rows[row_id]["details"]
        assert (details["workers"], details["events"], details["clients"]) == (workers, posted, QUICK.ingest_clients)
        assert rows[row_id]["ours"] == pytest.approx(posted / details["folded_s"], rel=0.01)
        assert details["folded_s"] >= details["acknowledged_s"] > 0  # folded only what was acknowledged
        assert details["cpu_s"]["ingest"] > 0 and details["cpu_s"]["api"] > 0, details
    j3 = rows["J3"]["details"]
    assert j3["jetstream"]["runs"] == j3["spool"]["runs"] == QUICK.publish_runs
    assert rows["J3"]["ours"] == pytest.approx(j3["jetstream"]["median_ms"] - j3["spool"]["median_ms"], abs=0.01)


def test_missing_services_make_the_rows_say_so(tmp_path: Path) -> None:
    nobody = f"nats://127.0.0.1:{free_port()}"
    row = stream_ingest.measure_stream_ingest("J1", 1, 100, 10, 1, tmp_path, 5, nats_url=nobody)
    assert row.status.startswith("pending: NATS unavailable at " + nobody), row.status
    no_postgres = f"postgresql://postgres@127.0.0.1:{free_port()}/test"
    row = stream_ingest.measure_stream_ingest("J2", 2, 100, 10, 1, tmp_path, 5, pg_admin_url=no_postgres)
    assert row.status.startswith("pending: PostgreSQL unavailable at " + no_postgres), row.status
    row = publish_latency.measure_publish_latency(1, 0, 10, tmp_path, nats_url=nobody)
    assert row.status.startswith("pending: NATS unavailable"), row.status
    assert row.ours is None and row.met is None
