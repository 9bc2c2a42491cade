"""kill -9 an ingest server while batches stream in from several concurrent clients (sustained ingest):
nothing acknowledged is lost, nothing counted twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from grafana_proxy.archive import read_window
from grafana_proxy.settings import Settings
from grafana_proxy.stores.engine import close_stores, open_stores
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
NOW = int(time.time() * 1000)
BATCH = 50
CLIENTS = 4  # concurrent posters: acknowledgements race each other's spool appends and the fold


def _start(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-m", "tests.ingest.ingest_server", str(data_dir), str(port)], cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    pytest.fail("ingest server did not start")


Batch = tuple[int, int]  # (client, n)


def _ids(batch: Batch) -> list[str]:
    return [f"c{batch[0]}b{batch[1]}-{i}" for i in range(BATCH)]


def _events(batch: Batch) -> list[dict[str, object]]:
    return [
        {
            "endpoint_id": "ep",
            "timestamp": NOW - 60_000 + batch[1],
            "request_id": rid,
            "inputs": [batch[1], i],
            "error": "x",
        }
        for i, rid in enumerate(_ids(batch))
    ]


def _post(client: httpx.Client, port: int, batch: Batch) -> bool:
    reply = client.post(f"http://127.0.0.1:{port}/api/v1/projects/p/events", json=_events(batch))
    return reply.status_code == 202


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)  # graceful: the pipeline folds what is spooled
    # uvicorn re-raises the signal after its graceful shutdown, so -SIGTERM is a clean exit here.
    assert proc.wait(30) in (0, -signal.SIGTERM)


def _stored(data_dir: Path) -> tuple[Counter[str], int]:
    settings = Settings(data_dir=data_dir)
    frame = read_window(settings.archive_location, "p", "ep", 0, NOW + 60_000)
    stores = open_stores(settings)
    try:
        record = stores.endpoints.get("p", "ep")
        errors = record.error_count if record else 0
    finally:
        close_stores(stores)
    return Counter(frame["request_id"]), errors


def test_kill_9_mid_stream_loses_no_acknowledged_event_and_counts_none_twice(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "data", free_port()
    proc = _start(data_dir, port)
    acked: list[Batch] = []  # list.append is atomic: the posters share these two
    attempted: list[Batch] = []

    def stream(client_id: int) -> None:
        with httpx.Client(timeout=5) as client:
            n = 0
            while True:
                attempted.append((client_id, n))
                try:
                    if _post(client, port, (client_id, n)):
                        acked.append((client_id, n))
                except httpx.HTTPError:
                    return
                n += 1

    posters = [threading.Thread(target=stream, args=(c,)) for c in range(CLIENTS)]
    for poster in posters:
        poster.start()
    time.sleep(2.0)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    for poster in posters:
        poster.join(10)
    assert len(acked) > 20, "too few batches were acknowledged before the kill to test anything"
    assert {c for c, _ in acked} == set(range(CLIENTS)), "every client should have been acknowledged before the kill"

    # Restart: the spool is replayed; every acknowledged event is there exactly once.
    proc = _start(data_dir, port)
    _stop(proc)
    counts, errors = _stored(data_dir)
    expected = {rid for batch in acked for rid in _ids(batch)}
    assert expected <= set(counts)
    assert max(counts.values()) == 1
    assert errors == len(counts)  # the record's error_count agrees: no event counted twice

    # The client retries everything it sent (acknowledged or not): still exactly once each.
    proc = _start(data_dir, port)
    with httpx.Client(timeout=5) as client:
        for batch in attempted:
            assert _post(client, port, batch)
    _stop(proc)
    counts, errors = _stored(data_dir)
    assert set(counts) == {rid for batch in attempted for rid in _ids(batch)}
    assert max(counts.values()) == 1
    assert errors == len(counts)
