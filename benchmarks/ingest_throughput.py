"""Ingest throughput into SQLite: HTTP acknowledgements (durable spool) and the fold into the stores.

    python -m benchmarks.ingest_throughput [--events 100000] [--batch 500] [--clients 4]

Starts the api role alone (``grafana-proxy run api``, no key check) on a fresh data dir, posts batches from
several clients, stops it, then measures how long the pipeline takes to fold everything (stop = drain)."""

from __future__ import annotations

import argparse
import concurrent.futures
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.roles import start_stack
from grafana_proxy.ingest.config import IngestConfig
from grafana_proxy.ingest.events import parse_batch
from grafana_proxy.ingest.pipeline import IngestPipeline
from grafana_proxy.settings import Settings
from grafana_proxy.stores.engine import close_stores, open_stores


def _batch(n: int, size: int, now: int) -> list[dict[str, object]]:
    return [
        {
            "endpoint_id": f"ep{n % 10}",
            "timestamp": now - 600_000 + (n * size + i) % 600_000,
            "request_id": f"{n}-{i}",
            "inputs": [[float(i), float(n), float(i % 7), float(i % 3)]],
            "feature_names": ["a", "b", "c", "d"],
            "outputs": [i % 2],
            "latency": 1500.0,
        }
        for i in range(size)
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    now = int(time.time() * 1000)
    batches = [_batch(n, args.batch, now) for n in range(args.events // args.batch)]
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        api = start_stack("api", data, Path(tmp) / "logs", {"GRAFANA_PROXY_AUTH": "none"}, ingest=False)
        url = f"{api.url}/api/v1/projects/bench/events"
        start = time.perf_counter()
        with httpx.Client(timeout=30) as client, concurrent.futures.ThreadPoolExecutor(args.clients) as pool:
            codes = list(pool.map(lambda b: client.post(url, json=b).status_code, batches))
        acked = time.perf_counter() - start
        assert set(codes) == {202}, set(codes)
        api.stop()  # no ingest role ran: the fold is left to a pipeline we time on its own
        settings = Settings(data_dir=data)
        stores = open_stores(settings)
        start = time.perf_counter()
        pipeline = IngestPipeline(IngestConfig.from_settings(settings), stores)
        pipeline.drain(now)
        folded = time.perf_counter() - start
        pipeline.stop()
        close_stores(stores)
        # Direct submit (no HTTP): validation + spool fsync per batch.
        stores = open_stores(settings)
        pipeline = IngestPipeline(IngestConfig.from_settings(settings), stores, name="direct")
        start = time.perf_counter()
        for b in batches:
            pipeline.submit(parse_batch("bench2", b, 10_000))
        submitted = time.perf_counter() - start
        pipeline.stop()
        close_stores(stores)
    n = len(batches) * args.batch
    sys.stdout.write(f"events={n} batch={args.batch} clients={args.clients}" + "\n")
    sys.stdout.write(f"HTTP ack (durable):     {n / acked:10.0f} events/s  ({acked:.2f}s)" + "\n")
    sys.stdout.write(f"parse+spool (no HTTP):  {n / submitted:10.0f} events/s  ({submitted:.2f}s)" + "\n")
    sys.stdout.write(
        f"fold into SQLite:       {n / folded:10.0f} events/s  ({folded:.2f}s, incl. archive + windows)" + "\n"
    )


if __name__ == "__main__":
    main()
