"""Entry point: ``python -m benchmarks.run [--quick] [--out benchmarks/out/results.json] [--keep]``;
``python -m benchmarks.run --reuse DIR [--only Q1,Q2]`` reruns query rows on a kept run's data;
``python -m benchmarks.run --only I1,G1`` reruns the pipeline rows alone (fresh data dir, no seeding).

Order matters for fairness: seed (ours + OpenMetrics copy) -> promtool blocks -> start Prometheus ->
seed the wide project while Prometheus compacts its imported blocks -> wait until compaction is over
-> start our server -> Q1..Q4 interleaved -> I1 -> G1 -> D1 -> peak RSS of our server -> stop."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from benchmarks import machine, pipeline, prometheus, queries, reuse, seeddata
from benchmarks.procs import Child, free_port, peak_rss_mb, start, wait_http
from benchmarks.report import Row, render, write_json

console = Console(stderr=True)


@dataclass(frozen=True)
class Profile:
    name: str
    endpoints: int
    days: float
    wide_endpoints: int
    runs: int
    warmup: int
    ingest_events: int
    ingest_batch: int
    ingest_clients: int
    gateway_rate: float
    gateway_seconds: float
    drift_features: int
    drift_rows: int
    drift_runs: int
    wait_compaction: bool


PIPELINE_ROWS = frozenset({"I1", "G1"})
FULL = Profile("full", 100, 30, 10_000, 50, 5, 200_000, 1000, 4, 200, 15, 100, 1_000_000, 3, True)
# CI smoke test: every row is produced, nothing about the numbers is meaningful.
QUICK = Profile("quick", 3, 2, 200, 3, 1, 2000, 500, 2, 50, 1, 10, 20_000, 1, False)


def start_ours(data_dir: Path, log_dir: Path, extra_env: dict[str, str] | None = None) -> tuple[Child, str]:
    port = free_port()
    env = {"GRAFANA_PROXY_DATA_DIR": str(data_dir), "GRAFANA_PROXY_DB_URL": "", "GRAFANA_PROXY_AUTH": "keys"}
    env.update(extra_env or {})
    child = start("grafana-proxy", [*pipeline.CLI, "serve", "--host", "127.0.0.1", "--port", str(port)], log_dir, env)
    url = f"http://127.0.0.1:{port}"
    wait_http(child, f"{url}/healthz", timeout=120)
    return child, url


def guarded(row_id: str, measure: Callable[[], Row]) -> Row:
    """A row whose measurement raised becomes "failed: <error>" instead of losing the whole run: the
    pipeline parts it drives are still being built."""
    try:
        return measure()
    except Exception as error:  # any failure of the measured part is a result, not a crash
        console.print_exception(max_frames=5)
        return Row(row_id, "(see error)", "-", "-", status=f"failed: {type(error).__name__}: {error}"[:300], met=False)


def seed_row(data: seeddata.SeededData, profile: Profile) -> Row:
    row = Row(
        "S1",
        f"seed {profile.endpoints} endpoints x {profile.days:g} days of 1-min data",
        "s",
        "a few minutes (<= 300 s)",
    )
    row.ours = data.seed_seconds
    row.met = data.seed_seconds <= 300
    row.details = {
        "points": data.points,
        "wide_endpoints": data.wide_endpoints,
        "wide_seed_seconds": round(data.wide_seconds, 1),
        "openmetrics_samples": data.openmetrics_samples,
    }
    return row


def query_rows(
    profile: Profile,
    work: Path,
    data: seeddata.SeededData,
    ours_url: str,
    read_key: str,
    comparison: tuple[httpx.Client | None, str, str],
    only: frozenset[str] | None = None,
) -> list[Row]:
    """Q1..Q4 (or the ``only`` subset), interleaved with their comparisons. ``comparison`` is the
    Prometheus client (None when missing), its URL and why it is missing."""
    rows: list[Row] = []
    headers = {"X-V3io-Session-Key": read_key}
    with httpx.Client(base_url=ours_url, headers=headers, timeout=60) as ours_client:
        servers = queries.Servers(ours_client, *comparison)
        for spec in queries.query_specs(seeddata.PROJECT, data.single_uid, seeddata.METRIC):
            if only is None or spec.id in only:
                console.print(f"{spec.id} ...")
                rows.append(queries.measure_query(servers, spec, data.end_ms, profile.runs, profile.warmup))
        if only is None or "Q4" in only:
            console.print("Q4 ...")
            db_path = work / "data" / "grafana-proxy.db"
            rows.append(
                queries.measure_table(
                    servers, db_path, seeddata.WIDE_PROJECT, data.end_ms, profile.runs, profile.warmup
                )
            )
    for row in rows:
        queries.sanity(row)
    return rows


def run_reused(profile: Profile, work: Path, only: frozenset[str] | None) -> dict[str, Any]:
    """Only query rows, on the data (SQLite file and TSDB) of an earlier run kept in ``work``."""
    began = time.time()
    load_at_start = list(os.getloadavg())
    data = reuse.load_seeded(work)
    binaries = prometheus.find_binaries(install=False)
    children: list[Child] = []
    try:
        prom_client: httpx.Client | None = None
        prom_url, missing = "", "not installed"
        if binaries is not None and (work / "tsdb").is_dir():
            prom, prom_url = prometheus.start_prometheus(binaries, work / "tsdb", work)
            children.append(prom)
            prom_client = httpx.Client(timeout=60)
        elif binaries is not None:
            missing = f"no TSDB in {work}"
        read_key, _write_key = seeddata.create_keys(work / "data")
        # Data seeded earlier ends in the past: the in-process monitoring controller would spend the
        # whole rerun catching up on every window since then for all 10,100 endpoints (holding the GIL,
        # 10x slower queries), which a fresh run, whose data ends "now", never does.
        ours, ours_url = start_ours(work / "data", work, reuse.SERVER_ENV)
        children.append(ours)
        rows = query_rows(profile, work, data, ours_url, read_key, (prom_client, prom_url, missing), only)
        if prom_client is not None:
            prom_client.close()
    finally:
        for child in reversed(children):
            child.stop()
    return {
        "profile": f"{profile.name} (query rows rerun on the data of {work})",
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(began)),
        "duration_s": round(time.time() - began, 1),
        "machine": machine.describe(binaries.version() if binaries else None),
        "load_average_at_start": load_at_start,
        "steps": {},
        "rows": [row.as_json() for row in rows],
        "_rows": rows,
    }


def pipeline_rows(profile: Profile, work: Path, ours_url: str, write_key: str, only: frozenset[str]) -> list[Row]:
    """I1 and G1 (or the ``only`` subset), each guarded: a failure becomes a "failed" row."""
    rows: list[Row] = []
    if "I1" in only:
        console.print("I1 ...")
        rows.append(
            guarded(
                "I1",
                lambda: pipeline.measure_ingest(
                    ours_url, write_key, profile.ingest_events, profile.ingest_batch, profile.ingest_clients
                ),
            )
        )
    if "G1" in only:
        console.print("G1 ...")
        rows.append(
            guarded(
                "G1",
                lambda: pipeline.measure_gateway(
                    work / "gateway-data", work, profile.gateway_rate, profile.gateway_seconds
                ),
            )
        )
    return rows


def run_pipeline_only(profile: Profile, work: Path, only: frozenset[str]) -> dict[str, Any]:
    """Only I1/G1: our server on an empty data dir (I1 writes its own project, so the seeded data of a
    full run is not needed), then the gateway rows. Same measurements and profile as the full run."""
    began = time.time()
    load_at_start = list(os.getloadavg())
    children: list[Child] = []
    try:
        _read_key, write_key = seeddata.create_keys(work / "data")
        ours, ours_url = start_ours(work / "data", work)
        children.append(ours)
        rows = pipeline_rows(profile, work, ours_url, write_key, only)
    finally:
        for child in reversed(children):
            child.stop()
    return {
        "profile": f"{profile.name} (pipeline rows {','.join(sorted(only))} only, fresh data dir)",
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(began)),
        "duration_s": round(time.time() - began, 1),
        "machine": machine.describe(None),
        "load_average_at_start": load_at_start,
        "load_average_at_end": list(os.getloadavg()),
        "steps": {},
        "rows": [row.as_json() for row in rows],
        "_rows": rows,
    }


def run(profile: Profile, work: Path, install: bool) -> dict[str, Any]:
    began = time.time()
    load_at_start = list(os.getloadavg())
    binaries = prometheus.find_binaries(install)
    if binaries is None and profile.name == "full":
        raise SystemExit(f"the full run needs Prometheus; install it with:\n  {prometheus.INSTALL_HINT}")
    steps: dict[str, float] = {}
    children: list[Child] = []
    rows: list[Row] = []
    try:
        t = time.perf_counter()
        data = seeddata.seed_main(work / "data", work / "openmetrics", profile.endpoints, profile.days)
        steps["seed_main_s"] = time.perf_counter() - t
        console.print(f"seeded {data.points:,} points in {data.seed_seconds:.1f} s")
        prom_client: httpx.Client | None = None
        prom_url, missing = "", "not installed"
        if binaries is not None:
            t = time.perf_counter()
            prometheus.create_blocks(binaries, list(data.openmetrics_files), work / "tsdb")
            steps["promtool_blocks_s"] = time.perf_counter() - t
            prom, prom_url = prometheus.start_prometheus(binaries, work / "tsdb", work)
            children.append(prom)
            console.print(f"Prometheus {binaries.version()} ready at {prom_url}")
        t = time.perf_counter()
        data = seeddata.seed_wide(data, profile.wide_endpoints)
        steps["seed_wide_s"] = time.perf_counter() - t
        if binaries is not None:
            if profile.wait_compaction:
                console.print("waiting for Prometheus to compact the imported blocks ...")
                steps.update(prometheus.wait_compacted(prom_url, timeout=600))
            prom_client = httpx.Client(timeout=60)
        rows.append(seed_row(data, profile))
        read_key, write_key = seeddata.create_keys(work / "data")
        ours, ours_url = start_ours(work / "data", work)
        children.append(ours)
        rows += query_rows(profile, work, data, ours_url, read_key, (prom_client, prom_url, missing))
        if prom_client is not None:
            prom_client.close()
        rows += pipeline_rows(profile, work, ours_url, write_key, PIPELINE_ROWS)
        console.print("D1 ...")
        rows.append(
            guarded(
                "D1", lambda: pipeline.measure_drift(profile.drift_features, profile.drift_rows, profile.drift_runs)
            )
        )
        rss = peak_rss_mb(ours.pid)
        rows.append(
            Row(
                "M1",
                "peak RSS of our server (VmHWM) over the run",
                "MB",
                "<= 200 MB",
                ours=rss,
                met=None if rss is None else rss <= 200,
            )
        )
    finally:
        for child in reversed(children):
            child.stop()
    return {
        "profile": profile.name,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(began)),
        "duration_s": round(time.time() - began, 1),
        "machine": machine.describe(binaries.version() if binaries else None),
        "load_average_at_start": load_at_start,
        "steps": {k: round(v, 2) for k, v in steps.items()},
        "rows": [row.as_json() for row in rows],
        "_rows": rows,
    }


def _pipeline_only(parser: argparse.ArgumentParser, text: str | None) -> frozenset[str] | None:
    """``--only I1,G1`` without ``--reuse``: which pipeline rows to rerun (None: the full run)."""
    if text is None:
        return None
    wanted = frozenset(part.strip().upper() for part in text.split(",") if part.strip())
    if not wanted or not wanted <= PIPELINE_ROWS:
        parser.error(f"without --reuse, --only takes a subset of I1,G1; got {text!r}")
    return wanted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small data, few repetitions (CI smoke test)")
    parser.add_argument("--out", type=Path, default=None, help="JSON results (default benchmarks/out/<profile>.json)")
    parser.add_argument("--work-dir", type=Path, default=None, help="where data, blocks and logs go (default: temp)")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (data, TSDB, server logs)")
    parser.add_argument("--no-install", action="store_true", help="never apt-get install Prometheus")
    parser.add_argument("--reuse", type=Path, default=None, help="rerun query rows on a kept work dir's data")
    parser.add_argument(
        "--only", default=None, help="with --reuse: a subset of Q1,Q2,Q3,Q4; without: a subset of I1,G1 (no seeding)"
    )
    args = parser.parse_args(argv)
    profile = QUICK if args.quick else FULL
    if args.reuse is not None:
        result = run_reused(profile, args.reuse, reuse.parse_only(args.only))
        rows_only: list[Row] = result.pop("_rows")
        out = args.out or Path(__file__).parent / "out" / f"{profile.name}-queries.json"
        write_json(out, result)
        render(rows_only, Console(width=160), f"grafana-proxy vs Prometheus ({result['profile']})")
        console.print(f"results: {out}")
        return 0
    only = _pipeline_only(parser, args.only)
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="benchmark-run-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        if only is not None:
            result = run_pipeline_only(profile, work, only)
        else:
            result = run(profile, work, install=not args.no_install and profile.name == "full")
    finally:
        if not args.keep and args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    rows: list[Row] = result.pop("_rows")
    suffix = "" if only is None else "-" + "-".join(sorted(only)).lower()
    out = args.out or Path(__file__).parent / "out" / f"{profile.name}{suffix}.json"
    write_json(out, result)
    render(rows, Console(width=160), f"grafana-proxy vs Prometheus ({profile.name} profile)")
    console.print(f"machine: {result['machine']}")
    console.print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
