"""Q1L and Q2L: Q1 and Q2 while I1's load runs (a second time, into its own project, after I1 was
measured alone) and the controller catches up.

Each loaded query runs in its own client process (``python -m benchmarks.loaded SPEC``) so its timing
does not share a GIL with the I1 client threads: it warms up, says it is ready, then alternates our
request and Prometheus' (pausing ``THINK_SECONDS`` between rounds, as a refreshing panel would) until
the orchestrator says stop and at least ``min_runs`` pairs are done. The orchestrator
(``measure_loaded``) starts the clients, starts the controller role (which begins by catching up every
window since the seed), runs I1's load, waits until the ingest role has folded the backlog (bounded)
and a few seconds more, then stops the clients and turns their samples into rows."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

from benchmarks import pipeline, queries
from benchmarks.prometheus import query_range
from benchmarks.report import Row
from benchmarks.roles import Stack, backlog_records, cpu_seconds
from benchmarks.timing import Timing

MAX_CLIENT_SECONDS = 900.0
# A panel refreshes, it does not hammer: a pause between rounds keeps the clients from becoming the load.
THINK_SECONDS = 0.02
LOAD_PROJECT = "ingest-bench-loaded"  # not I1's project: its events would all be duplicates


@dataclass(frozen=True)
class LoadedSpec:
    id: str
    base: queries.QuerySpec
    end_ms: int


def client_spec(spec: LoadedSpec, ours_url: str, read_key: str, prometheus_url: str | None) -> dict[str, Any]:
    base = spec.base
    start_ms = spec.end_ms - base.range_ms
    step_ms = queries.grafana_step_ms(base.range_ms, base.max_points)
    return {
        "id": spec.id,
        "ours_url": ours_url,
        "key": read_key,
        "body": queries.grafana_body(base.target, start_ms, spec.end_ms, step_ms, base.max_points).decode(),
        "prometheus_url": prometheus_url,
        "promql": base.promql.replace("{step}", f"{step_ms}ms"),
        "start_ms": start_ms,
        "end_ms": spec.end_ms,
        "step_ms": step_ms,
    }


def run_client(spec: dict[str, Any], ready: Path, stop: Path, out: Path, min_runs: int) -> None:
    headers = {"X-V3io-Session-Key": spec["key"], "content-type": "application/json"}
    body = spec["body"].encode()
    ours_client = httpx.Client(base_url=spec["ours_url"], headers=headers, timeout=120)
    calls: list[Callable[[], object]] = []

    def ours() -> object:
        response = ours_client.post(queries.QUERY_PATH, content=body)
        response.raise_for_status()
        return response.content

    calls.append(ours)
    prom_client = httpx.Client(timeout=120)
    if spec["prometheus_url"]:
        url, promql = spec["prometheus_url"], spec["promql"]

        def theirs() -> object:
            return query_range(prom_client, url, promql, spec["start_ms"], spec["end_ms"], spec["step_ms"] / 1000)

        calls.append(theirs)
    for _ in range(3):
        for call in calls:
            call()
    ready.touch()
    samples: list[list[float]] = [[] for _ in calls]
    errors: list[str] = []
    deadline = time.monotonic() + MAX_CLIENT_SECONDS
    while (len(samples[0]) < min_runs or not stop.exists()) and time.monotonic() < deadline and len(errors) < 20:
        for index, call in enumerate(calls):
            began = time.perf_counter()
            try:
                call()
            except httpx.HTTPError as error:
                errors.append(f"{type(error).__name__}: {error}"[:200])
                continue
            samples[index].append((time.perf_counter() - began) * 1000)
        time.sleep(THINK_SECONDS)
    prometheus = samples[1] if len(calls) > 1 else None
    out.write_bytes(orjson.dumps({"ours": samples[0], "prometheus": prometheus, "errors": errors}))


@dataclass
class LoadedResult:
    rows: list[Row]
    phase: dict[str, Any]


def measure_loaded(
    stack: Stack,
    specs: list[LoadedSpec],
    read_key: str,
    write_key: str,
    prometheus_url: str | None,
    ingest_args: tuple[int, int, int],
    work: Path,
    min_runs: int,
    settle_s: float,
    drain_timeout_s: float,
) -> LoadedResult:
    """Q1L/Q2L clients in their own processes, the controller started, I1, then the drain."""
    folder = work / "loaded"
    folder.mkdir(parents=True, exist_ok=True)
    stop = folder / "stop"
    stop.unlink(missing_ok=True)
    clients: list[tuple[LoadedSpec, subprocess.Popen[bytes], Path, Path]] = []
    phase: dict[str, Any] = {}
    try:
        for spec in specs:
            spec_file = folder / f"{spec.id}.spec.json"
            spec_file.write_bytes(orjson.dumps(client_spec(spec, stack.url, read_key, prometheus_url)))
            ready, out = folder / f"{spec.id}.ready", folder / f"{spec.id}.json"
            ready.unlink(missing_ok=True)
            out.unlink(missing_ok=True)
            argv = [sys.executable, "-m", "benchmarks.loaded", str(spec_file), str(ready), str(stop), str(out)]
            log = (folder / f"{spec.id}.log").open("wb")
            process = subprocess.Popen([*argv, "--min-runs", str(min_runs)], stdout=log, stderr=subprocess.STDOUT)
            log.close()
            clients.append((spec, process, ready, out))
        _wait_ready(clients)
        began = time.perf_counter()
        stack.start_controller()
        load = pipeline.measure_ingest(stack.url, write_key, *ingest_args, project=LOAD_PROJECT)
        load_end = time.time()
        phase["load"] = {"events_per_s": round(load.ours or 0.0), "status": load.status, **load.details}
        phase["load_done_s"] = round(time.perf_counter() - began, 2)
        phase["backlog_after_load"] = backlog_records(stack)
        phase["backlog_at_drain"] = wait_drained(stack, drain_timeout_s, load_end)
        phase["drained_s"] = round(time.perf_counter() - began, 2)
        time.sleep(settle_s)
        phase["settle_s"] = settle_s
        phase["processes"] = stack.processes()
        stop.touch()
        rows = [_row(spec, process, out) for spec, process, _ready, out in clients]
        phase["loaded_s"] = round(time.perf_counter() - began, 2)
        return LoadedResult(rows, phase)
    finally:
        stop.touch()
        for _spec, process, _ready, _out in clients:
            if process.poll() is None:
                try:
                    process.wait(120)
                except subprocess.TimeoutExpired:
                    process.kill()


def wait_drained(stack: Stack, timeout_s: float, since: float | None = None) -> float | None:
    """Wait (at most ``timeout_s``) until the ingest role has folded what was accepted before ``since``
    (default: now): its status file was written after ``since`` and reports no backlog, and the process
    has been idle (< 5 % of a core) for two checks in a row, since its backlog does not count records
    still in the api role's inbox. Returns the last backlog seen."""
    since = time.time() if since is None else since
    child = stack.roles.get("ingest")
    deadline = time.monotonic() + timeout_s
    backlog = backlog_records(stack)
    quiet = 0
    last_cpu = cpu_seconds(child.pid) if child is not None else None
    while time.monotonic() < deadline and quiet < 2:
        time.sleep(0.5)
        backlog = backlog_records(stack)
        cpu = cpu_seconds(child.pid) if child is not None else None
        idle = cpu is not None and last_cpu is not None and cpu - last_cpu < 0.025
        last_cpu = cpu
        fresh = _status_time(stack) > since
        quiet = quiet + 1 if fresh and not backlog and idle else 0
    return backlog


def _status_time(stack: Stack) -> float:
    try:
        return (stack.data_dir / "spool" / "status" / "ingest.json").stat().st_mtime
    except OSError:
        return 0.0


def _wait_ready(clients: list[tuple[LoadedSpec, subprocess.Popen[bytes], Path, Path]]) -> None:
    deadline = time.monotonic() + 300
    for spec, process, ready, _out in clients:
        while not ready.exists():
            if process.poll() is not None:
                raise RuntimeError(f"{spec.id} client exited with {process.returncode} before it was ready")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{spec.id} client not ready after 300 s")
            time.sleep(0.1)


def _row(spec: LoadedSpec, process: subprocess.Popen[bytes], out: Path) -> Row:
    row = Row(
        spec.id,
        f"{spec.base.id} during I1's load and the controller's catch-up (own client process)",
        "ms",
        "p99 <= 3x Prometheus' p99",
    )
    process.wait(MAX_CLIENT_SECONDS + 120)
    if process.returncode != 0 or not out.exists():
        row.status, row.met = f"failed: {spec.id} client exited with {process.returncode}", False
        return row
    result = orjson.loads(out.read_bytes())
    ours = Timing(tuple(result["ours"]))
    row.ours = ours.median
    row.details = {"ours": ours.summary(), "errors": len(result["errors"]), "first_errors": result["errors"][:3]}
    if result["prometheus"] is not None:
        theirs = Timing(tuple(result["prometheus"]))
        row.theirs, row.theirs_label = theirs.median, "Prometheus"
        row.details["prometheus"] = theirs.summary()
        row.details["p99_ratio"] = round(ours.p99 / theirs.p99, 3) if theirs.p99 else None
        row.met = ours.p99 <= 3 * theirs.p99 and not result["errors"]
    else:
        row.theirs_label = "not installed"
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.loaded", description="one loaded-query client")
    parser.add_argument("spec", type=Path)
    parser.add_argument("ready", type=Path)
    parser.add_argument("stop", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--min-runs", type=int, default=50)
    args = parser.parse_args(argv)
    run_client(orjson.loads(args.spec.read_bytes()), args.ready, args.stop, args.out, args.min_runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
