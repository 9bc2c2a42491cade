"""Publishing spool records to a test stream (as the events API will) and reading back what was folded."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nats
import orjson
import pandas as pd
from sqlalchemy import func, select

from grafana_proxy.archive import read_window
from grafana_proxy.ingest.config import IngestConfig
from grafana_proxy.ingest.inbox import raw_record
from grafana_proxy.settings import Settings
from grafana_proxy.stores import schema
from grafana_proxy.stores.base import Stores
from grafana_proxy.stores.engine import close_stores, engine_of, open_stores
from grafana_proxy.stream.config import StreamConfig
from grafana_proxy.stream.consumer import StreamWorker
from grafana_proxy.stream.jetstream import ensure_stream

NOW = int(time.time() * 1000) // 60_000 * 60_000
START = NOW - 30 * 60_000  # every event within the last hour, older than any lateness
PROJECT = "p"
UID = "ep"


def settings_for(stream: dict[str, str], db_url: str, data_dir: Path, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "db_url": db_url,
        "data_dir": data_dir,
        "archive_batch_seconds": 0.3,
        "window_period_seconds": 1,
        "window_lateness_seconds": 0,
        "stream_ack_wait_seconds": 2,
        "ingest_max_attempts": 2,
        "sample_window": 3,
    }
    return Settings(**(values | stream | extra))


def batch(number: int, size: int) -> list[dict[str, Any]]:
    """Events-API events; request ids depend on (number, index) only, so re-sending a batch repeats them."""
    return [
        {
            "endpoint_id": UID,
            "timestamp": START + number * 1_000 + i,
            "request_id": f"b{number}-{i}",
            "inputs": [[float(i), number], [float(i) + 0.5, number]] if i % 4 == 0 else [float(i), number],
            "feature_names": ["x", "n"],
            "latency": 100.0 + i,
            "error": "boom" if i % 7 == 0 else None,
        }
        for i in range(size)
    ]


def record(events: list[dict[str, Any]]) -> bytes:
    return raw_record(PROJECT, orjson.dumps(events))


def publish(settings: Settings, payloads: Sequence[bytes]) -> None:
    """Publish spool records to ``<prefix>.<project>`` as the events API will."""
    config = StreamConfig.from_settings(settings)

    async def main() -> None:
        client = await nats.connect(config.servers, connect_timeout=2)
        try:
            js = client.jetstream()
            await ensure_stream(js, config)
            for payload in payloads:
                await js.publish(config.subject(PROJECT), payload)
        finally:
            await client.close()

    asyncio.run(main())


def consumer_backlog(settings: Settings) -> int:
    """Messages of the consumer not yet delivered or not yet acknowledged."""
    config = StreamConfig.from_settings(settings)

    async def main() -> int:
        client = await nats.connect(config.servers, connect_timeout=2)
        try:
            info = await client.jetstream().consumer_info(config.stream_name, config.stream_consumer)
            return int(info.num_pending or 0) + int(info.num_ack_pending or 0)
        finally:
            await client.close()

    return asyncio.run(main())


def expected(numbers: Sequence[int], size: int) -> dict[int, tuple[int, int, int]]:
    """Per 1 s bucket start: (rows, errors, requests) of the distinct batches sent."""
    out: dict[int, list[int]] = {}
    for number in sorted(set(numbers)):
        for event in batch(number, size):
            start = int(event["timestamp"]) // 1000 * 1000
            b = out.setdefault(start, [0, 0, 0])
            b[0] += 2 if isinstance(event["inputs"][0], list) else 1
            b[1] += int(event["error"] is not None)
            b[2] += 1
    return {k: (v[0], v[1], v[2]) for k, v in out.items()}


def buckets(stores: Stores) -> dict[int, tuple[int, int, int]]:
    b = schema.window_buckets
    with engine_of(stores).connect() as conn:
        rows = conn.execute(select(b.c.start_ms, b.c.count, b.c.errors, b.c.requests)).all()
    return {int(s): (int(c), int(e), int(r)) for s, c, e, r in rows}


def request_ids(stores: Stores) -> int:
    with engine_of(stores).connect() as conn:
        return int(conn.execute(select(func.count()).select_from(schema.request_ids)).scalar() or 0)


def archived(settings: Settings) -> pd.DataFrame:
    return read_window(settings.archive_location, PROJECT, UID, 0, NOW + 60_000)


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@contextmanager
def workers(settings: Settings, count: int) -> Iterator[list[StreamWorker]]:
    """``count`` workers in threads, each with its own stores (connections), as separate processes have."""
    stop = threading.Event()
    opened = [open_stores(settings) for _ in range(count)]
    started = [
        StreamWorker(StreamConfig.from_settings(settings), IngestConfig.from_settings(settings), stores)
        for stores in opened
    ]
    threads = [threading.Thread(target=w.run, args=(stop,), daemon=True) for w in started]
    for thread in threads:
        thread.start()
    try:
        yield started
    finally:
        stop.set()
        for thread in threads:
            thread.join(20)
        for stores in opened:
            close_stores(stores)


def ingest_process(settings: Settings, data_dir: Path, log: Path | None = None) -> subprocess.Popen[bytes]:
    """A real `grafana-proxy run ingest` process on ``settings``' stream and database, writing the shared
    archive; its output goes to ``log`` (or nowhere)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRAFANA_PROXY_")}
    for name in (
        "db_url",
        "stream_url",
        "stream_name",
        "stream_subject_prefix",
        "stream_consumer",
        "stream_ack_wait_seconds",
        "archive_batch_seconds",
        "window_period_seconds",
        "window_lateness_seconds",
    ):
        env[f"GRAFANA_PROXY_{name.upper()}"] = str(getattr(settings, name))
    env["GRAFANA_PROXY_DATA_DIR"] = str(data_dir)
    env["GRAFANA_PROXY_ARCHIVE_URL"] = settings.archive_location  # one shared archive
    cli = [sys.executable, "-c", "from grafana_proxy.cli.main import app; app()", "run", "ingest"]
    if log is None:
        return subprocess.Popen(cli, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with log.open("ab") as out:
        return subprocess.Popen(cli, env=env, stdout=out, stderr=subprocess.STDOUT)
