"""Latency of POST /events with a 1,000-event batch: the embedded spool vs NATS JetStream.

    python -m benchmarks.publish_latency [--runs 200] [--events 1000] [--nats nats://127.0.0.1:4222]

Starts two api roles (``grafana-proxy run api``, one process each, on fresh data dirs): one with the
embedded spool, one with ``stream_url`` set (a stream of its own, deleted afterwards). Posts the same kind
of batch to both in turn (A, B, A, B: a slow moment of the machine hits both), each with fresh request
ids so JetStream stores every one, and prints the median, p90 and p99 of each side in ms."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import count
from pathlib import Path

import httpx
import nats
import orjson
from nats.js.errors import NotFoundError

from benchmarks.timing import interleave
from tests.servers import free_port

NOW_MS = int(time.time() * 1000)


def batch(n: int, size: int) -> bytes:
    return orjson.dumps(
        [
            {
                "endpoint_id": f"ep{n % 10}",
                "timestamp": NOW_MS - 600_000 + i,
                "request_id": f"{n}-{i}",
                "inputs": [[float(i), float(n), float(i % 7), float(i % 3)]],
                "feature_names": ["a", "b", "c", "d"],
                "outputs": [i % 2],
                "latency": 1500.0,
            }
            for i in range(size)
        ]
    )


@contextmanager
def api_role(data_dir: Path, env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GRAFANA_PROXY_")}
    clean.update(GRAFANA_PROXY_DATA_DIR=str(data_dir), GRAFANA_PROXY_AUTH="none", GRAFANA_PROXY_LOG_LEVEL="WARNING")
    clean.update(env)
    command = [sys.executable, "-m", "grafana_proxy.cli.main", "run", "api", "--port", str(port)]
    proc = subprocess.Popen(command, env=clean)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("the api role did not start")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)


def poster(http: httpx.Client, url: str, bodies: Iterator[bytes]) -> Callable[[], object]:
    target = url + "/api/v1/projects/bench/events"

    def post() -> object:
        answer = http.post(target, content=next(bodies))
        if answer.status_code != 202:
            raise RuntimeError(f"{answer.status_code}: {answer.text}")
        return answer

    return post


def delete_stream(url: str, name: str) -> None:
    async def delete() -> None:
        client = await nats.connect(url, connect_timeout=2)
        try:
            await client.jetstream().delete_stream(name)
        except NotFoundError:
            pass
        finally:
            await client.close()

    asyncio.run(delete())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--nats", default="nats://127.0.0.1:4222")
    args = parser.parse_args()
    token = secrets.token_hex(4)
    stream = {
        "GRAFANA_PROXY_STREAM_URL": args.nats,
        "GRAFANA_PROXY_STREAM_NAME": f"GP_BENCH_{token}",
        "GRAFANA_PROXY_STREAM_SUBJECT_PREFIX": f"gp-bench-{token}",
    }
    # Fresh request ids for every post on both sides, built before the clock runs.
    per_side = args.runs + args.warmup
    numbers = count()
    spool_bodies = iter([batch(next(numbers), args.events) for _ in range(per_side)])
    stream_bodies = iter([batch(next(numbers), args.events) for _ in range(per_side)])
    try:
        with (
            tempfile.TemporaryDirectory() as tmp,
            api_role(Path(tmp) / "spool", {}) as spool_url,
            api_role(Path(tmp) / "stream", stream) as stream_url,
            httpx.Client(timeout=30) as http,
        ):
            spool, jetstream = interleave(
                [poster(http, spool_url, spool_bodies), poster(http, stream_url, stream_bodies)],
                args.runs,
                args.warmup,
            )
    finally:
        delete_stream(args.nats, stream["GRAFANA_PROXY_STREAM_NAME"])
    size = len(batch(0, args.events))
    summary = {
        "batch_events": args.events,
        "batch_bytes": size,
        "spool": spool.summary(),
        "jetstream": jetstream.summary(),
    }
    sys.stdout.write(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
