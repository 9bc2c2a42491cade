"""Smoke test of the benchmark: the quick profile runs end to end and produces every row.
Times are not asserted (speed claims live in benchmarks/RESULTS.md, never in timed unit tests)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from benchmarks.run import main

ROWS = (
    "S1",
    "Q1",
    "Q2",
    "Q3",
    "Q4",
    "T1",
    "Q1L",
    "Q2L",
    "I1",
    "J1",
    "J2",
    "J3",
    "G1",
    "D1",
    "M1-api",
    "M1-ingest",
    "M1",
)


@pytest.mark.slow
def test_quick_profile_produces_every_row(tmp_path: Path) -> None:
    out = tmp_path / "quick.json"
    # --no-install: CI must not apt-get; without Prometheus the comparison column says so.
    assert main(["--quick", "--no-install", "--out", str(out), "--work-dir", str(tmp_path / "work")]) == 0
    result = json.loads(out.read_text())
    rows = {row["id"]: row for row in result["rows"]}
    assert tuple(rows) == ROWS
    for row in rows.values():
        assert row["status"] == "measured" or row["status"].startswith("pending:"), row
        if row["status"] == "measured":
            assert row["ours"] is not None, row
    prometheus_installed = shutil.which("prometheus") is not None
    for query in ("Q1", "Q2", "Q3"):
        row = rows[query]
        assert row["details"]["ours_points"] > 0, row  # our server answered with data
        if prometheus_installed:
            assert row["theirs"] is not None and row["details"]["prometheus_points"] > 0, row
        else:
            assert row["theirs"] is None and row["theirs_label"] == "not installed", row
    assert rows["Q4"]["details"]["rows_ours"] == rows["Q4"]["details"]["rows_bare"] > 0
    for query in ("Q1", "Q2", "Q3", "Q4"):  # the PostgreSQL column: our api role on the copy answered
        assert rows[query]["postgres"] is not None and "postgres_identical" in rows[query]["details"], rows[query]
    # Raw points and the table come back byte for byte; sums over tiers may differ in the last digit
    # (PostgreSQL adds a group's rows in its own order).
    assert rows["Q1"]["details"]["postgres_identical"] and rows["Q4"]["details"]["postgres_identical"]
    for loaded in ("Q1L", "Q2L"):  # measured during I1, from their own client processes
        assert rows[loaded]["details"]["ours"]["runs"] >= 3, rows[loaded]
    roles = {p["role"] for p in rows["M1"]["details"]["processes"]}
    assert {"api", "ingest", "controller"} <= roles, rows["M1"]
    assert rows["M1-api"]["ours"] > 0 and rows["M1-ingest"]["ours"] > 0
    # One api process answered Q1's query from several client processes, on SQLite and on PostgreSQL.
    assert rows["T1"]["status"] == "measured" and rows["T1"]["ours"] > 1 and rows["T1"]["postgres"] > 1, rows["T1"]
    for stream_row in ("J1", "J2", "J3"):  # NATS and PostgreSQL are services of the test machine
        assert rows[stream_row]["status"] == "measured", rows[stream_row]
    assert set(result["machine"]) >= {"cpu_model", "cores", "ram_gib", "python", "sqlite", "prometheus"}
