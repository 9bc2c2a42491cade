"""J1 and J2: I1's load (the events API, ``clients`` clients posting batches of ``batch`` events) through
NATS JetStream into PostgreSQL, with one (J1) or two (J2) ``grafana-proxy run ingest`` worker processes.

The api role and the workers run on a fresh database of the run's own and a stream of the run's own
(both dropped afterwards). The workers are started and connected, and a first batch is posted and folded,
before the clock runs, so start-up is not measured. Then I1's load is posted and timed twice: until
the last batch is acknowledged (HTTP 202: JetStream stored it) and until the database holds every event
(its ``request_ids`` table, written in the same transaction as the fold). CPU time of the workers (until
everything is folded) and of the api role (until the last acknowledgement) comes from /proc.

    python -m benchmarks.stream_ingest [--workers 1] [--events 200000] [--batch 1000] [--clients 4]"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import psycopg

from benchmarks import pgcopy, pipeline, seeddata, streams
from benchmarks.procs import Child, start
from benchmarks.report import Row, pending
from benchmarks.roles import Stack, cpu_seconds, descendants, has_roles, start_stack
from benchmarks.timing import Timing

CLI = [sys.executable, "-m", "grafana_proxy.cli.main"]
READY_TIMEOUT_S = 120.0
POLL_S = 0.1


def measure_stream_ingest(
    row_id: str,
    workers: int,
    total: int,
    batch: int,
    clients: int,
    work: Path,
    fold_timeout_s: float,
    nats_url: str = streams.NATS_URL,
    pg_admin_url: str = pgcopy.ADMIN_URL,
) -> Row:
    """The row of ``workers`` ingest workers; "pending: <why>" when NATS, PostgreSQL or the roles are missing."""
    plural = "s" if workers > 1 else ""
    row = Row(
        row_id,
        f"I1's load via JetStream, {workers} ingest worker{plural}: events/s folded into PostgreSQL",
        "events/s",
        "reported",
    )
    missing = streams.nats_missing(nats_url) or streams.postgres_missing(pg_admin_url)
    if missing is not None:
        return pending(row, missing)
    if not has_roles():
        return pending(row, "this build has no `grafana-proxy run api|ingest` roles")
    name = row_id.lower()
    with ExitStack() as cleanup:
        pg_url = cleanup.enter_context(pgcopy.scratch_database(pg_admin_url))
        db_url = pgcopy.sqlalchemy_url(pg_url)
        env = {**cleanup.enter_context(streams.scratch_stream(nats_url)), "GRAFANA_PROXY_DB_URL": db_url}
        data_dir = work / f"{name}-data"
        _read_key, write_key = seeddata.create_keys(data_dir, db_url)  # migrates the fresh database too
        stack = start_stack(name, data_dir, work, env, ingest=False)
        ingest: list[Child] = []
        cleanup.callback(_stop, stack, ingest)
        ingest += [start(f"{name}-ingest-{i}", [*CLI, "run", "ingest"], work, stack.env) for i in range(workers)]
        db = cleanup.enter_context(psycopg.connect(pg_url, autocommit=True))
        row = _measure(row, stack, ingest, db, write_key, (total, batch, clients), fold_timeout_s)
    return row


def _stop(stack: Stack, ingest: list[Child]) -> None:
    stack.stop()  # the api first: nothing more is published
    for child in ingest:
        child.stop()


def _measure(
    row: Row,
    stack: Stack,
    ingest: list[Child],
    db: psycopg.Connection[Any],
    write_key: str,
    load: tuple[int, int, int],
    fold_timeout_s: float,
) -> Row:
    total, batch, clients = load
    batches = pipeline.i1_batches(total, batch)
    _wait_connected(stack.data_dir, ingest)
    refused = pipeline.probe_events(stack.url, write_key, batches[0])
    if refused is not None:
        return pending(row, refused)
    first = min(batch, total)
    if _wait_folded(db, first, READY_TIMEOUT_S, ingest) < first:
        raise RuntimeError(f"the first batch was not folded within {READY_TIMEOUT_S:.0f} s")
    ingest_cpu0, api_cpu0 = _cpu(ingest), _cpu([stack.api])
    began = time.perf_counter()
    posted = pipeline.post_load(stack.url, write_key, batches[1:], clients)
    api_cpu = _cpu([stack.api]) - api_cpu0
    folded = _wait_folded(db, total, fold_timeout_s, ingest)
    fold_s = time.perf_counter() - began
    ingest_cpu = _cpu(ingest) - ingest_cpu0
    events = total - first
    row.ours = (folded - first) / fold_s
    acked = events / posted.seconds
    row.theirs_label = (
        f"acknowledged: {acked:,.0f} events/s; events per CPU-second: "
        f"ingest {_per(events, ingest_cpu)}, api {_per(events, api_cpu)}"
    )
    row.details = {
        "workers": len(ingest),
        "clients": clients,
        "events": events,
        "acknowledged_s": round(posted.seconds, 3),
        "acknowledged_events_per_s": round(acked),
        "folded_s": round(fold_s, 3),
        "folded_events_per_s": round(row.ours),
        "cpu_s": {"ingest": round(ingest_cpu, 2), "api": round(api_cpu, 2)},
        "events_per_cpu_s": {"ingest": _rate(events, ingest_cpu), "api": _rate(events, api_cpu)},
        "batch": Timing(posted.latencies_ms).summary(),
        "database": "PostgreSQL, a fresh database of the run's own",
    }
    if posted.errors:
        row.status, row.met = f"failed: {len(posted.errors)} batches refused ({posted.errors[0]})", False
    elif folded < total:
        row.status = f"failed: {folded - first:,} of {events:,} events folded after {fold_s:.0f} s"
        row.met = False
    return row


def _cpu(children: Sequence[Child]) -> float:
    """User + system CPU seconds of ``children`` and their descendants."""
    pids = [pid for child in children for pid in (child.pid, *descendants(child.pid))]
    return sum(cpu_seconds(pid) or 0.0 for pid in pids)


def _rate(events: int, cpu: float) -> float | None:
    return round(events / cpu) if cpu > 0 else None


def _per(events: int, cpu: float) -> str:
    rate = _rate(events, cpu)
    return "-" if rate is None else f"{rate:,.0f}"


def _wait_connected(data_dir: Path, ingest: Sequence[Child]) -> None:
    """Until every worker has written its status file (it does once it consumes the stream)."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    status_dir = data_dir / "spool" / "status"
    while True:
        names = [p.name for p in status_dir.glob("ingest-*.json")] if status_dir.is_dir() else []
        waiting = [c for c in ingest if not any(f"-{c.pid}-" in n for n in names)]
        if not waiting:
            return
        for child in waiting:
            if not child.alive():
                raise RuntimeError(f"{child.name} exited with {child.process.returncode}:\n{child.log_tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{waiting[0].name} not consuming after {READY_TIMEOUT_S:.0f} s:\n{waiting[0].log_tail()}"
            )
        time.sleep(POLL_S)


def _wait_folded(db: psycopg.Connection[Any], events: int, timeout_s: float, ingest: Sequence[Child]) -> int:
    """Until the database holds ``events`` events (or ``timeout_s`` passed); how many it holds."""
    deadline = time.monotonic() + timeout_s
    while True:
        row = db.execute("SELECT count(*) FROM request_ids").fetchone()
        held = int(row[0]) if row else 0
        if held >= events or time.monotonic() > deadline:
            return held
        for child in ingest:
            if not child.alive():
                raise RuntimeError(f"{child.name} exited with {child.process.returncode}:\n{child.log_tail()}")
        time.sleep(POLL_S)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.stream_ingest", description=__doc__)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the fold")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="stream-ingest-") as tmp:
        row = measure_stream_ingest("J", args.workers, args.events, args.batch, args.clients, Path(tmp), args.timeout)
    sys.stdout.write(json.dumps(row.as_json(), indent=2) + "\n")
    return 0 if row.status == "measured" else 1


if __name__ == "__main__":
    sys.exit(main())
