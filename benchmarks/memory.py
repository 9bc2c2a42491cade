"""M1 alone: our server's peak RSS over the queries and the ingest of a full run, on a kept run's data.

    python -m benchmarks.memory --reuse DIR [--settle 60] [--out benchmarks/out/full-m1.json]

DIR is a work dir kept with ``python -m benchmarks.run --work-dir DIR --keep``. Its database is copied
(SQLite backup) to a temporary dir, so DIR is left as it was and every rerun starts from the same
state: the copy is reset to what the full run's server started with (no ``ingest-bench`` project, no
controller progress). Then, like the full run: start the api and ingest roles, Q1-Q4 on our side only
(Prometheus plays no part in our memory), the controller role, I1, and ``--settle`` seconds of quiet
(the archive flush and the controller's passes happen then). VmRSS and VmHWM of every role are read
after each step; M1 is the sum of the last VmHWMs."""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from benchmarks import pipeline, reuse, seeddata
from benchmarks.report import Row, render, write_json
from benchmarks.run import FULL, QUICK, Profile, default_out, query_rows, start_ours

console = Console(stderr=True)
DB_NAME = "grafana-proxy.db"


def rss_mb(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of a live process in MB (10^6 bytes)."""
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = round(int(value.split()[0]) * 1024 / 1e6, 1)
    return out


def copy_reset(source: Path, target: Path) -> None:
    """Copy the kept database (consistent even if a server has it open) and undo what the full run's
    server itself wrote after it started: the I1 project and the controller's schedules."""
    target.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{source / DB_NAME}?mode=ro", uri=True)
    dst = sqlite3.connect(target / DB_NAME)
    try:
        src.backup(dst)
        project = pipeline.INGEST_PROJECT
        dst.execute("DELETE FROM points WHERE series_id IN (SELECT id FROM series WHERE project = ?)", (project,))
        for table in ("rollup_10m", "rollup_1h", "rollup_1d"):
            dst.execute(f"DELETE FROM {table} WHERE series_id IN (SELECT id FROM series WHERE project = ?)", (project,))
        for table in ("series", "app_results", "endpoint_documents", "endpoints"):
            dst.execute(f"DELETE FROM {table} WHERE project = ?", (project,))
        dst.execute("DELETE FROM monitoring_schedules")
        dst.commit()
    finally:
        src.close()
        dst.close()


def measure(
    profile: Profile, kept: Path, work: Path, settle_s: float, log: Path | None = None
) -> tuple[Row, list[dict[str, Any]]]:
    copy_reset(kept / "data", work / "data")
    data = reuse.load_seeded(work)
    read_key, write_key = seeddata.create_keys(work / "data")
    ours = start_ours(work / "data", work)
    url = ours.url
    steps: list[dict[str, Any]] = []

    def step(name: str) -> None:
        steps.append({"after": name, **{role: rss_mb(child.pid) for role, child in ours.roles.items()}})
        console.print(f"{name}: {steps[-1]}")

    try:
        step("start")
        for only in ("Q1", "Q2", "Q3", "Q4"):
            query_rows(profile, work, data, url, read_key, (None, "", "not measured (M1 run)"), frozenset({only}))
            step(only)
        ours.start_controller()
        ingest = pipeline.measure_ingest(
            url, write_key, profile.ingest_events, profile.ingest_batch, profile.ingest_clients
        )
        step(f"I1 ({ingest.status}, {ingest.ours or 0:,.0f} events/s)")
        deadline = time.monotonic() + settle_s
        while time.monotonic() < deadline:
            time.sleep(min(10.0, max(0.0, deadline - time.monotonic())))
            step(f"settle {settle_s - (deadline - time.monotonic()):.0f} s")
    finally:
        ours.stop()
        if log is not None:
            shutil.copyfile(ours.api.log_path, log)
    peak = sum(memory["VmHWM"] for role, memory in steps[-1].items() if role != "after")
    row = Row("M1", "peak RSS (VmHWM) of our roles, summed, over queries and ingest", "MB", "reported", ours=peak)
    row.details = {"steps": steps}
    return row, steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory", description=__doc__)
    parser.add_argument("--reuse", type=Path, required=True, help="a work dir kept by a full run (--work-dir --keep)")
    parser.add_argument("--quick", action="store_true", help="the quick profile's ingest size")
    parser.add_argument("--settle", type=float, default=60.0, help="seconds to keep sampling after I1")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="JSON results (default <temp dir>/grafana-proxy-benchmark/<profile>-m1.json)",
    )
    parser.add_argument("--log", type=Path, default=None, help="keep a copy of the server's log here")
    args = parser.parse_args(argv)
    profile = QUICK if args.quick else FULL
    work = Path(tempfile.mkdtemp(prefix="benchmark-m1-"))
    began = time.time()
    try:
        row, _steps = measure(profile, args.reuse, work, args.settle, args.log)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result = {
        "profile": f"{profile.name} (M1 alone, on a copy of the data of {args.reuse})",
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(began)),
        "duration_s": round(time.time() - began, 1),
        "rows": [row.as_json()],
    }
    out = args.out or default_out(f"{profile.name}-m1")
    write_json(out, result)
    render([row], Console(width=160), f"grafana-proxy M1 ({result['profile']})")
    console.print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
