"""Entry point: ``python -m benchmarks.run [--quick] [--out FILE] [--keep]``;
``python -m benchmarks.run --reuse DIR [--only Q1,Q2]`` reruns query rows on a kept run's data;
``python -m benchmarks.run --only I1,G1`` reruns the pipeline rows alone (fresh data dir, no seeding);
``--only J1,J2,J3`` the JetStream rows (NATS and PostgreSQL on this machine).
Results go to ``<temp dir>/grafana-proxy-benchmark/<profile>.json`` unless ``--out`` says otherwise:
a run never writes into the source tree.

Order matters for fairness: seed (ours + OpenMetrics copy) -> promtool blocks -> start Prometheus ->
seed the wide project and copy what the queries read to PostgreSQL while Prometheus compacts its
imported blocks -> wait until compaction is over -> start our api and ingest roles (and an api role on
the PostgreSQL copy) -> Q1..Q4 interleaved (ours, Prometheus, ours on PostgreSQL) -> M1-api -> I1
alone -> M1-ingest once it is folded -> the loaded phase: Q1L/Q2L clients in their own processes, the
controller role started (it catches up every window since the seed), I1's load again into another
project, the ingest backlog drained -> M1 -> G1 -> D1 -> stop -> J1, J2, J3 (processes of their own, on
a fresh PostgreSQL database and a NATS stream of the run's own each)."""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from benchmarks import (
    loaded,
    machine,
    pgcopy,
    pipeline,
    prometheus,
    publish_latency,
    queries,
    reuse,
    seeddata,
    stream_ingest,
    throughput,
)
from benchmarks.procs import Child
from benchmarks.report import Row, render, write_json
from benchmarks.roles import Stack, memory_mb, start_stack

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
    loaded_settle_s: float  # after the ingest backlog is drained, Q1L/Q2L go on this long
    drain_timeout_s: float
    publish_runs: int = 200  # J3: measured posts per side
    publish_warmup: int = 20
    fold_timeout_s: float = 600.0  # J1/J2: how long the workers may take to fold I1's load


STREAM_ROWS = frozenset({"J1", "J2", "J3"})
PIPELINE_ROWS = frozenset({"I1", "G1"}) | STREAM_ROWS
ROW_ORDER = (
    *("S1", "Q1", "Q2", "Q3", "Q4", "T1", "Q1L", "Q2L", "I1", "J1", "J2", "J3"),
    *("G1", "D1", "M1-api", "M1-ingest", "M1"),
)
FULL = Profile("full", 100, 30, 10_000, 50, 5, 200_000, 1000, 4, 200, 15, 100, 1_000_000, 3, True, 10.0, 90.0)
# CI smoke test: every row is produced, nothing about the numbers is meaningful.
QUICK = Profile("quick", 3, 2, 200, 3, 1, 2000, 500, 2, 50, 1, 10, 20_000, 1, False, 0.5, 20.0, 5, 1, 60.0)
API_GOAL_MB = 150.0
INGEST_GOAL_MB = 250.0


def default_out(name: str) -> Path:
    """Where results go without ``--out``: outside the source tree, so a run leaves ``git status`` clean."""
    return Path(tempfile.gettempdir()) / "grafana-proxy-benchmark" / f"{name}.json"


def start_ours(data_dir: Path, log_dir: Path, extra_env: dict[str, str] | None = None, ingest: bool = True) -> Stack:
    """Our api role (plus the ingest role unless ``ingest`` is False) on ``data_dir``, ready."""
    return start_stack("ours", data_dir, log_dir, extra_env, ingest=ingest)


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
    postgres: tuple[str | None, str] = (None, "not measured"),
) -> list[Row]:
    """Q1..Q4 (or the ``only`` subset), interleaved with their comparisons. ``comparison`` is the
    Prometheus client (None when missing), its URL and why it is missing; ``postgres`` the URL of our
    api role on the PostgreSQL copy (None when there is none) and why it is missing."""
    rows: list[Row] = []
    headers = {"X-V3io-Session-Key": read_key}
    with ExitStack() as clients:
        ours_client = clients.enter_context(httpx.Client(base_url=ours_url, headers=headers, timeout=60))
        pg_url, pg_missing = postgres
        pg_client = None
        if pg_url is not None:
            pg_client = clients.enter_context(httpx.Client(base_url=pg_url, headers=headers, timeout=60))
        servers = queries.Servers(ours_client, *comparison, pg_client, pg_missing)
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
    if only is None or "T1" in only:
        console.print("T1 ...")
        q1 = queries.query_specs(seeddata.PROJECT, data.single_uid, seeddata.METRIC)[0]
        seconds = throughput.SECONDS if profile.runs >= 50 else 1.0
        rows.append(
            guarded("T1", lambda: throughput.measure_throughput(ours_url, pg_url, read_key, q1, data.end_ms, seconds))
        )
    return rows


def run_reused(profile: Profile, work: Path, only: frozenset[str] | None) -> dict[str, Any]:
    """Only query rows, on the data (SQLite file and TSDB) of an earlier run kept in ``work``."""
    began = time.time()
    load_at_start = list(os.getloadavg())
    data = reuse.load_seeded(work)
    binaries = prometheus.find_binaries(install=False)
    children: list[Child] = []
    stacks: list[Stack] = []
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
        ours = start_ours(work / "data", work, reuse.SERVER_ENV, ingest=False)
        stacks.append(ours)
        rows = query_rows(profile, work, data, ours.url, read_key, (prom_client, prom_url, missing), only)
        if prom_client is not None:
            prom_client.close()
    finally:
        for stack in stacks:
            stack.stop()
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


def stream_rows(profile: Profile, work: Path, only: frozenset[str]) -> list[Row]:
    """J1, J2 (I1's load through JetStream with one and two ingest workers) and J3 (the publish path's
    added latency), or the ``only`` subset, each guarded. Each starts (and stops) processes of its own."""
    load = (profile.ingest_events, profile.ingest_batch, profile.ingest_clients)
    measures: dict[str, Callable[[], Row]] = {
        f"J{workers}": functools.partial(
            stream_ingest.measure_stream_ingest, f"J{workers}", workers, *load, work, profile.fold_timeout_s
        )
        for workers in (1, 2)
    }
    measures["J3"] = functools.partial(
        publish_latency.measure_publish_latency,
        profile.publish_runs,
        profile.publish_warmup,
        profile.ingest_batch,
        work,
    )
    rows: list[Row] = []
    for row_id, measure in measures.items():
        if row_id in only:
            console.print(f"{row_id} ...")
            rows.append(guarded(row_id, measure))
    return rows


def run_pipeline_only(profile: Profile, work: Path, only: frozenset[str]) -> dict[str, Any]:
    """Only I1/G1/J1-J3: our server on an empty data dir when I1 or G1 is asked for (I1 writes its own
    project, so the seeded data of a full run is not needed), the gateway rows, then the JetStream rows.
    Same measurements and profile as the full run."""
    began = time.time()
    load_at_start = list(os.getloadavg())
    stacks: list[Stack] = []
    rows: list[Row] = []
    try:
        if only - STREAM_ROWS:
            _read_key, write_key = seeddata.create_keys(work / "data")
            ours = start_ours(work / "data", work)
            stacks.append(ours)
            rows += pipeline_rows(profile, work, ours.url, write_key, only)
    finally:
        for stack in stacks:
            stack.stop()
    rows += stream_rows(profile, work, only)
    rows.sort(key=lambda row: ROW_ORDER.index(row.id))
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
    rows: list[Row] = []
    with ExitStack() as cleanup:
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
            cleanup.callback(prom.stop)
            console.print(f"Prometheus {binaries.version()} ready at {prom_url}")
        t = time.perf_counter()
        data = seeddata.seed_wide(data, profile.wide_endpoints)
        steps["seed_wide_s"] = time.perf_counter() - t
        read_key, write_key = seeddata.create_keys(work / "data")  # before the copy: PostgreSQL gets them too
        postgres_url, postgres_missing = _postgres_copy(cleanup, work, steps)
        if binaries is not None:
            if profile.wait_compaction:
                console.print("waiting for Prometheus to compact the imported blocks ...")
                steps.update(prometheus.wait_compacted(prom_url, timeout=600))
            prom_client = cleanup.enter_context(httpx.Client(timeout=60))
        rows.append(seed_row(data, profile))
        ours = start_ours(work / "data", work)
        cleanup.callback(ours.stop)
        pg_api: str | None = None
        if postgres_url is not None:
            pg_stack = start_stack("postgres", work / "pg-data", work, {"GRAFANA_PROXY_DB_URL": postgres_url}, False)
            cleanup.callback(pg_stack.stop)
            pg_api = pg_stack.url
        rows += query_rows(
            profile, work, data, ours.url, read_key, (prom_client, prom_url, missing), None, (pg_api, postgres_missing)
        )
        rows.append(api_memory_row(ours))
        rows += pipeline_rows(profile, work, ours.url, write_key, frozenset({"I1"}))
        rows.append(ingest_memory_row(ours, profile.drain_timeout_s))
        console.print("Q1L, Q2L with I1's load and the controller's catch-up ...")
        rows += loaded_rows(profile, work, data, ours, read_key, write_key, prom_url if prom_client else None)
        ours.stop_role("controller")
        rows += pipeline_rows(profile, work, ours.url, write_key, frozenset({"G1"}))
        console.print("D1 ...")
        rows.append(
            guarded(
                "D1", lambda: pipeline.measure_drift(profile.drift_features, profile.drift_rows, profile.drift_runs)
            )
        )
    rows += stream_rows(profile, work, STREAM_ROWS)  # after every process of the main stack has stopped
    by_id = {row.id: row for row in rows}
    ordered = [by_id[row_id] for row_id in ROW_ORDER if row_id in by_id] + [r for r in rows if r.id not in ROW_ORDER]
    return {
        "profile": profile.name,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(began)),
        "duration_s": round(time.time() - began, 1),
        "machine": machine.describe(binaries.version() if binaries else None),
        "load_average_at_start": load_at_start,
        "load_average_at_end": list(os.getloadavg()),
        "roles": "run api|ingest|controller" if ours.split else "serve (no roles in this build)",
        "steps": {k: round(v, 2) for k, v in steps.items()},
        "rows": [row.as_json() for row in ordered],
        "_rows": ordered,
    }


def _postgres_copy(cleanup: ExitStack, work: Path, steps: dict[str, float]) -> tuple[str | None, str]:
    """(URL of the PostgreSQL copy, "") or (None, why there is none): the column says so instead of
    failing the run when the server is not there."""
    console.print("copying what the queries read to PostgreSQL ...")
    try:
        copied = cleanup.enter_context(pgcopy.postgres_copy(work / "data" / "grafana-proxy.db", work))
    except Exception as error:  # an unreachable server is a result of the run, not a crash
        console.print(f"PostgreSQL column skipped: {type(error).__name__}: {error}")
        return None, f"unavailable: {type(error).__name__}: {str(error).splitlines()[0][:160]}"
    steps["postgres_copy_s"] = copied.seconds
    steps.update({f"postgres_rows_{table}": count for table, count in copied.rows.items()})
    return copied.url, ""


def api_memory_row(ours: Stack) -> Row:
    """M1-api: the api role's peak resident memory once Q1-Q4 are answered."""
    row = Row("M1-api", "peak RSS (VmHWM) of the api role after Q1-Q4", "MB", f"<= {API_GOAL_MB:g} MB")
    memory = memory_mb(ours.api.pid)
    row.ours = memory.get("VmHWM")
    row.met = None if row.ours is None else row.ours <= API_GOAL_MB
    row.details = {"processes": [p for p in ours.processes() if p["role"].startswith("api")], "split": ours.split}
    if not ours.split:
        row.details["note"] = "one serve process plays the api and ingest roles (no roles in this build)"
    return row


def ingest_memory_row(ours: Stack, drain_timeout_s: float) -> Row:
    """M1-ingest: the ingest role's peak resident memory once it has folded I1's events."""
    row = Row("M1-ingest", "peak RSS (VmHWM) of the ingest role after I1 (folded)", "MB", f"<= {INGEST_GOAL_MB:g} MB")
    began = time.perf_counter()
    backlog = loaded.wait_drained(ours, drain_timeout_s)
    child = ours.roles.get("ingest")
    row.ours = memory_mb(child.pid).get("VmHWM") if child is not None else None
    row.met = None if row.ours is None else row.ours <= INGEST_GOAL_MB
    row.details = {"drain_s": round(time.perf_counter() - began, 2), "backlog_left": backlog, "split": ours.split}
    return row


def loaded_rows(
    profile: Profile,
    work: Path,
    data: seeddata.SeededData,
    ours: Stack,
    read_key: str,
    write_key: str,
    prom_url: str | None,
) -> list[Row]:
    """Q1L, Q2L and M1 (the whole tree) from the loaded phase."""
    specs = {spec.id: spec for spec in queries.query_specs(seeddata.PROJECT, data.single_uid, seeddata.METRIC)}
    wanted = [loaded.LoadedSpec(f"{base}L", specs[base], data.end_ms) for base in ("Q1", "Q2")]
    ingest_args = (profile.ingest_events, profile.ingest_batch, profile.ingest_clients)
    try:
        result = loaded.measure_loaded(
            ours,
            wanted,
            read_key,
            write_key,
            prom_url,
            ingest_args,
            work,
            profile.runs,
            profile.loaded_settle_s,
            profile.drain_timeout_s,
        )
    except Exception as error:  # the rows say what failed; the rest of the run goes on
        console.print_exception(max_frames=5)
        why = f"failed: {type(error).__name__}: {error}"[:300]
        ids = ("Q1L", "Q2L", "M1")
        return [Row(row_id, "(see error)", "-", "-", status=why, met=False) for row_id in ids]
    phase = {k: v for k, v in result.phase.items() if k != "processes"}
    for row in result.rows:
        row.details["phase"] = phase
    processes = result.phase["processes"]
    tree = Row("M1", "peak RSS (VmHWM) of every process of ours, summed (after the loaded phase)", "MB", "reported")
    tree.ours = round(sum(p.get("VmHWM", 0.0) for p in processes), 1)
    tree.details = {"processes": processes, "split": ours.split}
    return [*result.rows, tree]


def _pipeline_only(parser: argparse.ArgumentParser, text: str | None) -> frozenset[str] | None:
    """``--only I1,G1,J1,J2,J3`` without ``--reuse``: which pipeline rows to rerun (None: the full run)."""
    if text is None:
        return None
    wanted = frozenset(part.strip().upper() for part in text.split(",") if part.strip())
    if not wanted or not wanted <= PIPELINE_ROWS:
        parser.error(f"without --reuse, --only takes a subset of {','.join(sorted(PIPELINE_ROWS))}; got {text!r}")
    return wanted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small data, few repetitions (CI smoke test)")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="JSON results (default <temp dir>/grafana-proxy-benchmark/<profile>.json)",
    )
    parser.add_argument("--work-dir", type=Path, default=None, help="where data, blocks and logs go (default: temp)")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (data, TSDB, server logs)")
    parser.add_argument("--no-install", action="store_true", help="never apt-get install Prometheus")
    parser.add_argument("--reuse", type=Path, default=None, help="rerun query rows on a kept work dir's data")
    parser.add_argument(
        "--only",
        default=None,
        help="with --reuse: a subset of Q1,Q2,Q3,Q4; without: a subset of I1,G1,J1,J2,J3 (no seeding)",
    )
    args = parser.parse_args(argv)
    profile = QUICK if args.quick else FULL
    if args.reuse is not None:
        result = run_reused(profile, args.reuse, reuse.parse_only(args.only))
        rows_only: list[Row] = result.pop("_rows")
        out = args.out or default_out(f"{profile.name}-queries")
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
    out = args.out or default_out(f"{profile.name}{suffix}")
    write_json(out, result)
    render(rows, Console(width=160), f"grafana-proxy vs Prometheus ({profile.name} profile)")
    console.print(f"machine: {result['machine']}")
    console.print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
