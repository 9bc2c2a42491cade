"""T1: how many panel queries one api process answers per second when it is kept busy: Q1's request
(1 series, 24 h, maxDataPoints 1000) from several client processes in a closed loop (each sends its next
request when the last one is answered), on the SQLite store and, when there is one, on PostgreSQL.

The clients are processes, not threads, so the load is not capped by the benchmark's own GIL. The figure
is a sizing input (queries/s per api process, docs/scaling.md), not a goal: on the 2-core benchmark machine
the clients share the cores with the server."""

from __future__ import annotations

import multiprocessing
import time
from typing import Any

import httpx

from benchmarks import queries
from benchmarks.report import Row

CLIENTS = 4
SECONDS = 5.0


def _client(url: str, key: str, body: bytes, seconds: float, out: Any) -> None:
    headers = {"X-V3io-Session-Key": key, "content-type": "application/json"}
    done = failed = 0
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        client.post(queries.QUERY_PATH, content=body)  # connect and warm up
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            if client.post(queries.QUERY_PATH, content=body).status_code == 200:
                done += 1
            else:
                failed += 1
    out.put((done, failed))


def queries_per_second(url: str, key: str, body: bytes, clients: int = CLIENTS, seconds: float = SECONDS) -> float:
    """Answered requests per second over ``seconds`` with ``clients`` closed-loop client processes."""
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    procs = [context.Process(target=_client, args=(url, key, body, seconds, out)) for _ in range(clients)]
    for proc in procs:
        proc.start()
    results: list[tuple[int, int]] = [out.get(timeout=seconds + 120) for _ in procs]
    for proc in procs:
        proc.join(30)
    done, failed = sum(r[0] for r in results), sum(r[1] for r in results)
    if failed:
        raise RuntimeError(f"{failed} of {done + failed} throughput requests failed")
    return done / seconds


def measure_throughput(
    ours_url: str, pg_url: str | None, key: str, spec: queries.QuerySpec, end_ms: int, seconds: float = SECONDS
) -> Row:
    start_ms = end_ms - spec.range_ms
    step_ms = queries.grafana_step_ms(spec.range_ms, spec.max_points)
    body = queries.grafana_body(spec.target, start_ms, end_ms, step_ms, spec.max_points)
    row = Row("T1", f"{spec.id}'s query, {CLIENTS} closed-loop client processes, one api process", "queries/s", "-")
    row.ours = round(queries_per_second(ours_url, key, body, seconds=seconds), 1)
    row.details = {"clients": CLIENTS, "seconds": seconds, "query": spec.id}
    if pg_url is not None:
        row.postgres = round(queries_per_second(pg_url, key, body, seconds=seconds), 1)
    return row
