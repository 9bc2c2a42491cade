"""I1 (events API ingest), G1 (gateway overhead) and D1 (drift computation). When a part they measure
cannot be imported (a partial install), the row says "pending" with the reason instead of failing the
whole run."""

from __future__ import annotations

import importlib
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson

from benchmarks import gateway_latency
from benchmarks.procs import Child, free_port, start, wait_http
from benchmarks.report import Row, pending
from benchmarks.timing import Timing

CLI = [sys.executable, "-c", "from grafana_proxy.cli.main import app; app()"]
INGEST_PROJECT = "ingest-bench"
JSON_HEADERS = {"content-type": "application/json"}


def event_batches(total: int, batch: int, start_ms: int) -> list[bytes]:
    """Pre-encoded batches, so the client's JSON encoding is not part of the measured time."""
    rng = np.random.default_rng(5)
    features = rng.normal(size=(total, 4)).round(4).tolist()
    batches = []
    for first in range(0, total, batch):
        events = [
            {
                "function_uri": "ingest-bench/serving",
                "model": "bench-model",
                "timestamp": start_ms + i * 10,
                "request_id": f"bench-{i}",
                "inputs": [features[i]],
                "outputs": [int(features[i][0] > 0)],
                "latency": 900.0 + (i % 200),
            }
            for i in range(first, min(first + batch, total))
        ]
        batches.append(orjson.dumps(events))
    return batches


def i1_batches(total: int, batch: int) -> list[bytes]:
    """I1's batches: ``total`` events within the last hour (older than any lateness, none in the future)."""
    return event_batches(total, batch, int(time.time() * 1000) - 3_600_000)


def events_path(project: str = INGEST_PROJECT) -> str:
    return f"/api/v1/projects/{project}/events"


def write_headers(write_key: str) -> dict[str, str]:
    return {"X-V3io-Session-Key": write_key, "content-type": "application/json"}


def probe_events(base_url: str, write_key: str, body: bytes, project: str = INGEST_PROJECT) -> str | None:
    """Post one batch; None when it was accepted, else why the events API cannot be measured."""
    path = events_path(project)
    with httpx.Client(base_url=base_url, headers=write_headers(write_key), timeout=120) as client:
        probe = client.post(path, content=body)
    if probe.status_code in (404, 405):
        return f"POST {path} is not mounted in create_app (HTTP {probe.status_code})"
    if probe.status_code == 503:
        return f"events route mounted but refused the batch (HTTP 503): {probe.text[:200]}"
    if probe.status_code >= 300:
        return f"events route answered HTTP {probe.status_code}: {probe.text[:200]}"
    return None


@dataclass(frozen=True)
class Load:
    """What ``post_load`` saw: wall time of the whole load, each batch's latency and any refusal."""

    seconds: float
    latencies_ms: tuple[float, ...]
    errors: tuple[str, ...]


def post_load(
    base_url: str, write_key: str, batches: Sequence[bytes], concurrency: int, project: str = INGEST_PROJECT
) -> Load:
    """``batches`` shared round robin among ``concurrency`` client threads, each posting its share in
    turn (a closed loop: the next batch once the last one is acknowledged)."""
    path = events_path(project)
    headers = write_headers(write_key)
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def worker(share: Sequence[bytes]) -> None:
        with httpx.Client(base_url=base_url, headers=headers, timeout=120) as client:
            for body in share:
                began = time.perf_counter()
                response = client.post(path, content=body)
                elapsed = (time.perf_counter() - began) * 1000
                with lock:
                    latencies.append(elapsed)
                    if response.status_code >= 300:
                        errors.append(f"HTTP {response.status_code}")

    threads = [threading.Thread(target=worker, args=(batches[i::concurrency],)) for i in range(concurrency)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Load(time.perf_counter() - began, tuple(latencies), tuple(errors))


def measure_ingest(
    base_url: str, write_key: str, total: int, batch: int, concurrency: int, project: str = INGEST_PROJECT
) -> Row:
    row = Row("I1", f"events API ingest, batches of {batch}, {concurrency} clients", "events/s", ">= 50,000 events/s")
    batches = i1_batches(total, batch)
    refused = probe_events(base_url, write_key, batches[0], project)
    if refused is not None:
        return pending(row, refused)
    load = post_load(base_url, write_key, batches[1:], concurrency, project)
    events = total - min(batch, total)
    row.ours = events / load.seconds if load.seconds > 0 else None
    row.details = {"events": events, "seconds": round(load.seconds, 3), "batch": Timing(load.latencies_ms).summary()}
    if load.errors:
        row.status, row.met = f"failed: {len(load.errors)} batches refused ({load.errors[0]})", False
    else:
        row.met = row.ours is not None and row.ours >= 50_000
    return row


def _cli_child(name: str, args: list[str], log_dir: Path, data_dir: Path) -> Child:
    env = {"GRAFANA_PROXY_DATA_DIR": str(data_dir), "GRAFANA_PROXY_LOG_LEVEL": "WARNING"}
    return start(name, [*CLI, *args], log_dir, env)


def _no_such_command(child: Child) -> bool:
    time.sleep(1.5)
    return not child.alive() and "No such command" in child.log_tail(40)


def measure_gateway(data_dir: Path, log_dir: Path, rate: float, seconds: float) -> Row:
    """Open loop at ``rate`` requests/s, alternating 1-second phases straight to the model service and
    through the gateway (see ``gateway_latency.open_loop``), so both see the same moments of the machine."""
    row = Row("G1", f"gateway overhead at {rate:g} req/s (median added)", "ms", "<= 1 ms added at the median")
    model_port, gateway_port = free_port(), free_port()
    model = _cli_child("demo-model", ["demo-model", "--port", str(model_port)], log_dir, data_dir)
    children = [model]
    try:
        if _no_such_command(model):
            return pending(row, "`grafana-proxy demo-model` does not exist yet")
        gateway = _cli_child(
            "gateway",
            [
                "gateway",
                "--service-url",
                f"http://127.0.0.1:{model_port}",
                "--project",
                "gw-bench",
                "--port",
                str(gateway_port),
            ],
            log_dir,
            data_dir,
        )
        children.append(gateway)
        if _no_such_command(gateway):
            return pending(row, "`grafana-proxy gateway` does not exist yet")
        wait_http(model, f"http://127.0.0.1:{model_port}/", 60, ok=range(200, 500))
        wait_http(gateway, f"http://127.0.0.1:{gateway_port}/", 60, ok=range(200, 500))
        return _gateway_load(row, model_port, gateway_port, rate, seconds)
    finally:
        for child in reversed(children):
            child.stop()


def _gateway_load(row: Row, model_port: int, gateway_port: int, rate: float, seconds: float) -> Row:
    path, body = "/v2/models/demo/infer", orjson.dumps({"inputs": [[5.1, 3.5, 1.4, 0.2]]})
    with httpx.Client(timeout=10) as probe:
        for port in (model_port, gateway_port):
            answer = probe.post(f"http://127.0.0.1:{port}{path}", content=body, headers=JSON_HEADERS)
            if answer.status_code >= 300:
                return pending(row, f"demo model refused POST {path} (HTTP {answer.status_code})")

    def targets() -> list[gateway_latency.Target]:
        return [gateway_latency.Target(port, path, body) for port in (model_port, gateway_port)]

    gateway_latency.run_open_loop(targets(), rate, 2.0)  # warm-up: connections, both servers' first calls
    results = gateway_latency.run_open_loop(targets(), rate, seconds)
    direct, through = (Timing(tuple(r.latencies_ms)) for r in results)
    lags = [Timing(tuple(r.lags_ms)) for r in results]
    row.ours = through.median - direct.median
    # The comparison is the direct call's own latency; a ratio of "added" to it would mean nothing.
    row.theirs_label = f"direct call: median {direct.median:.2f} ms, p99 {direct.p99:.1f} ms"
    row.details = {
        "direct": direct.summary(),
        "gateway": through.summary(),
        "p99_added_ms": round(through.p99 - direct.p99, 3),
        # How late the generator sent (vs its schedule): small means the client kept the rate itself.
        "send_lag_ms": {"direct": lags[0].summary(), "gateway": lags[1].summary()},
        "client": "raw HTTP/1.1 keep-alive open loop on uvloop (benchmarks/gateway_latency.py)",
        "request": f"POST {path} (MLRun V2 body, one row of 4 features)",
    }
    errors = [r.errors for r in results]
    row.details["errors"] = {"direct": len(errors[0]), "gateway": len(errors[1]), "first": (errors[0] + errors[1])[:3]}
    row.met = row.ours <= 1.0 and not errors[1]
    return row


def measure_drift(features: int, rows: int, runs: int) -> Row:
    """``analyze`` of a window of ``rows`` x ``features`` against reference stats made beforehand (the
    reference is computed once at training time, so it is not part of the measured work)."""
    row = Row("D1", f"drift of {features} features x {rows:,} rows", "s", "<= 2 s")
    try:
        drift: Any = importlib.import_module("grafana_proxy.monitoring.drift")
        stats: Any = importlib.import_module("grafana_proxy.monitoring.stats")
        import pandas as pd
    except ImportError as error:
        return pending(row, f"grafana_proxy.monitoring.drift not importable ({error})")
    rng = np.random.default_rng(11)
    names = [f"f{i}" for i in range(features)]
    reference = stats.reference_stats(pd.DataFrame(rng.normal(size=(min(rows, 200_000), features)), columns=names))
    shift = np.where(np.arange(features) % 2 == 0, 0.0, 0.5)  # half the features drift
    window = pd.DataFrame(rng.normal(size=(rows, features)) + shift, columns=names)
    durations = []
    for _ in range(runs):
        began = time.perf_counter()
        report = drift.analyze(window, reference)
        durations.append(time.perf_counter() - began)
    row.ours = float(np.median(durations))
    row.details = {"runs": [round(d, 3) for d in durations], "general_drift": report.general_drift}
    row.met = row.ours <= 2.0
    return row
