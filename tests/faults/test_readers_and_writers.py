"""Readers and writers at once against a real ``serve`` process, on each backend: Grafana-style refreshes
(/query, /rows, /search) in several threads while events stream into the events API and the write API
updates records and appends metric points. No 5xx (no "database is locked"), and every reader sees a
consistent, monotonic world: the endpoint list always complete, counts never going back."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx

from grafana_proxy.settings import Settings
from grafana_proxy.stores.engine import close_stores, open_stores
from tests.faults.conftest import ServeProcess, serve_env, start_serve
from tests.faults.traffic import PREFIX, REQUEST_TIMEOUT

PROJECT = "rw"
ENDPOINTS = sorted(f"ep-{i}" for i in range(12))
READERS, POSTERS = 4, 2
SECONDS = 3.0
DAY = 86_400_000
BASE_TS = int(time.time() * 1000) - DAY // 2  # metric points go forward from here, one a minute


class Failures:
    def __init__(self) -> None:
        self.items: list[str] = []
        self.lock = threading.Lock()

    def add(self, text: str) -> None:
        with self.lock:
            if len(self.items) < 20:
                self.items.append(text)


def _seed(db_url: str, data_dir: Path) -> str:
    stores = open_stores(Settings(db_url=db_url, data_dir=data_dir))
    try:
        for uid in ENDPOINTS:
            stores.endpoints.upsert(PROJECT, uid, {"name": uid, "function_uri": f"{PROJECT}/fn", "model": uid})
        _, secret = stores.keys.create("faults", None, "write")
        return secret
    finally:
        close_stores(stores)


def _check(response: httpx.Response, failures: Failures, what: str) -> Any:
    if response.status_code >= 300:
        failures.add(f"{what}: {response.status_code} {response.text[:300]}")
        return None
    return response.json()


def _reader(url: str, headers: dict[str, str], stop: threading.Event, failures: Failures, rounds: list[int]) -> None:
    seen_errors: dict[str, int] = defaultdict(int)
    seen_points = 0
    table = {
        "targets": [{"refId": "A", "target": f"target_endpoint=list_endpoints;project={PROJECT}", "type": "table"}]
    }
    rows = {
        "target": f"target_endpoint=metrics;project={PROJECT};endpoint_id=ep-0;metric=custom_score",
        "from": str(BASE_TS - DAY),
        "to": str(BASE_TS + DAY),
        "maxDataPoints": "10000",
    }
    search = {"target": f"target_endpoint=list_endpoints;project={PROJECT}"}
    with httpx.Client(base_url=url, headers=headers, timeout=REQUEST_TIMEOUT) as client:
        while not stop.is_set():
            frames = _check(client.post(PREFIX + "/query", json=table), failures, "query")
            if frames is not None:
                frame = frames[0]
                names = [c["text"] for c in frame["columns"]]
                listed = {row[names.index("endpoint_id")]: row for row in frame["rows"]}
                if sorted(listed) != ENDPOINTS:
                    failures.add(f"list_endpoints gave {len(listed)} rows: {sorted(listed)}")
                for uid, row in listed.items():
                    count = int(row[names.index("error_count")] or 0)
                    if count < seen_errors[uid]:
                        failures.add(f"error_count of {uid} went back from {seen_errors[uid]} to {count}")
                    seen_errors[uid] = max(seen_errors[uid], count)
            points = _check(client.get(PREFIX + "/rows", params=rows), failures, "rows")
            if points is not None:
                if len(points) < seen_points:
                    failures.add(f"custom_score points went back from {seen_points} to {len(points)}")
                seen_points = max(seen_points, len(points))
            found = _check(client.post(PREFIX + "/search", json=search), failures, "search")
            # Endpoints come as {text: name, value: uid} (plain uids when an endpoint has no name).
            uids = None if found is None else [u["value"] if isinstance(u, dict) else u for u in found]
            if uids is not None and sorted(uids) != ENDPOINTS:
                failures.add(f"search gave {uids}")
            rounds.append(1)


def _poster(
    url: str, headers: dict[str, str], k: int, stop: threading.Event, failures: Failures, acked: list[int]
) -> None:
    with httpx.Client(base_url=url, headers=headers, timeout=REQUEST_TIMEOUT) as client:
        n = 0
        while not stop.is_set():
            now = int(time.time() * 1000)
            events = [
                {
                    "endpoint_id": ENDPOINTS[(n + i) % len(ENDPOINTS)],
                    "timestamp": now,
                    "request_id": f"w{k}-{n}-{i}",
                    "inputs": [[i, n]],
                    "latency": 500,
                    "error": "rw",
                }
                for i in range(50)
            ]
            reply = client.post(f"/api/v1/projects/{PROJECT}/events", json=events)
            if reply.status_code == 202:
                acked.append(len(events))
            else:
                failures.add(f"events: {reply.status_code} {reply.text[:300]}")
            n += 1


def _writer(url: str, headers: dict[str, str], stop: threading.Event, failures: Failures, written: list[int]) -> None:
    base = f"/api/v1/projects/{PROJECT}/model-endpoints"
    with httpx.Client(base_url=url, headers=headers, timeout=REQUEST_TIMEOUT) as client:
        n = 0
        while not stop.is_set():
            uid = ENDPOINTS[n % len(ENDPOINTS)]
            _check(client.put(f"{base}/{uid}", json={"labels": {"round": str(n)}}), failures, "put")
            points = [
                {"name": "custom_score", "timestamp": BASE_TS + (n * 5 + j) * 60_000, "value": n} for j in range(5)
            ]
            if _check(client.post(f"{base}/ep-0/metrics", json={"points": points}), failures, "metrics") is not None:
                written.append(len(points))
            n += 1


def test_grafana_refreshes_during_ingest_and_writes_see_no_errors_and_consistent_answers(
    db_url: str, tmp_path: Path, serve_factory: list[ServeProcess]
) -> None:
    data_dir = tmp_path / "data"
    secret = _seed(db_url, data_dir)
    env = serve_env(data_dir, GRAFANA_PROXY_DB_URL=db_url, GRAFANA_PROXY_WINDOW_PERIOD_SECONDS="0.3")
    server = start_serve(env, tmp_path / "serve.log")
    serve_factory.append(server)
    headers = {"X-V3io-Session-Key": secret}

    stop, failures = threading.Event(), Failures()
    rounds: list[int] = []
    acked: list[int] = []
    written: list[int] = []
    threads = [
        threading.Thread(target=_reader, args=(server.url, headers, stop, failures, rounds)) for _ in range(READERS)
    ]
    threads += [
        threading.Thread(target=_poster, args=(server.url, headers, k, stop, failures, acked)) for k in range(POSTERS)
    ]
    threads.append(threading.Thread(target=_writer, args=(server.url, headers, stop, failures, written)))
    for thread in threads:
        thread.start()
    time.sleep(SECONDS)
    stop.set()
    for thread in threads:
        thread.join(REQUEST_TIMEOUT + 5)
    assert not any(t.is_alive() for t in threads), "a client is stuck"

    assert not failures.items, "\n".join(failures.items) + "\n" + server.log()[-3000:]
    assert len(rounds) >= READERS * 3 and len(acked) >= 5 and len(written) >= 5, (len(rounds), len(acked), len(written))
    assert "database is locked" not in server.log()

    # Once the fold catches up, the readers' world is the writers' world: every event counted once.
    deadline = time.monotonic() + 30
    while True:
        frames = httpx.post(
            f"{server.url}{PREFIX}/query",
            json={"targets": [{"target": f"target_endpoint=project_summary;project={PROJECT}", "type": "table"}]},
            headers=headers,
            timeout=REQUEST_TIMEOUT,
        ).json()
        summary = dict(zip([c["text"] for c in frames[0]["columns"]], frames[0]["rows"][0], strict=True))
        if summary["error_count"] == sum(acked) or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert summary["error_count"] == sum(acked)
    points = httpx.get(
        f"{server.url}{PREFIX}/rows",
        params={
            "target": f"target_endpoint=metrics;project={PROJECT};endpoint_id=ep-0;metric=custom_score",
            "from": str(BASE_TS - DAY),
            "to": str(BASE_TS + DAY),
            "maxDataPoints": "10000",
        },
        headers=headers,
        timeout=REQUEST_TIMEOUT,
    ).json()
    assert len(points) == sum(written)
