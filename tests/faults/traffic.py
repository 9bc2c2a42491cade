"""Client traffic for the fault tests: event posters and Grafana-style readers in threads, each reply
recorded (phase, route, status, body) so a test can assert on what every client saw."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

PREFIX = "/api/grafana-proxy/model-endpoints"
REQUEST_TIMEOUT = 15.0  # a request still unanswered after this counts as hung (a failure, not a slow reply)


@dataclass
class Reply:
    phase: str
    route: str
    status: int  # 0: no HTTP answer (timeout, connection error)
    body: Any
    seconds: float
    started: float  # time.monotonic() when sent
    tag: Any = None  # e.g. the batch number of an event post


@dataclass
class Traffic:
    """Threads calling ``base_url`` until ``stop()``; ``phase`` labels the replies (e.g. up/down/recovered)."""

    base_url: str
    replies: list[Reply] = field(default_factory=list)
    phase: str = "up"
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _call(
        self, client: httpx.Client, route: str, send: Callable[[httpx.Client], httpx.Response], tag: Any
    ) -> Reply:
        phase, started = self.phase, time.monotonic()
        try:
            response = send(client)
            try:
                body: Any = response.json()
            except ValueError:
                body = response.text
            status = response.status_code
        except httpx.HTTPError as exc:
            status, body = 0, f"{type(exc).__name__}: {exc}"
        reply = Reply(phase, route, status, body, time.monotonic() - started, started, tag)
        with self._lock:
            self.replies.append(reply)
        return reply

    def _loop(self, work: Callable[[httpx.Client, int], None]) -> None:
        with httpx.Client(base_url=self.base_url, timeout=REQUEST_TIMEOUT) as client:
            n = 0
            while not self._stop.is_set():
                work(client, n)
                n += 1

    def add(self, work: Callable[[httpx.Client, int], None]) -> None:
        thread = threading.Thread(target=self._loop, args=(work,), daemon=True)
        self._threads.append(thread)
        thread.start()

    def add_poster(self, project: str, endpoint: Callable[[int], str], prefix: str, batch: int = 20) -> None:
        """Posts batches of ``batch`` events with request ids ``<prefix>-<n>-<i>`` (all carry an error, so
        the endpoint's error_count counts them). The reply's tag is ``(prefix, n)``."""

        def work(client: httpx.Client, n: int) -> None:
            now = int(time.time() * 1000)
            events = [
                {
                    "endpoint_id": endpoint(n),
                    "timestamp": now,
                    "request_id": f"{prefix}-{n}-{i}",
                    "inputs": [[n, i, 0.5]],
                    "outputs": [1],
                    "latency": 1000 + i,
                    "error": "fault-test",
                }
                for i in range(batch)
            ]
            url = f"/api/v1/projects/{project}/events"
            self._call(client, "events", lambda c: c.post(url, json=events), (prefix, n))
            time.sleep(0.01)

        self.add(work)

    def add_reader(self, project: str, headers: dict[str, str] | None = None) -> None:
        """One Grafana-style refresh per loop: a table query, an Infinity rows query and a search."""
        table = {
            "targets": [{"refId": "A", "target": f"target_endpoint=list_endpoints;project={project}", "type": "table"}],
            "range": {"from": "2020-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"},
        }
        rows = {"target": f"target_endpoint=metrics;project={project};metric=error_count;agg=last"}
        search = {"target": f"target_endpoint=list_endpoints;project={project}"}

        def work(client: httpx.Client, _: int) -> None:
            self._call(client, "query", lambda c: c.post(PREFIX + "/query", json=table, headers=headers), None)
            self._call(client, "rows", lambda c: c.get(PREFIX + "/rows", params=rows, headers=headers), None)
            self._call(client, "search", lambda c: c.post(PREFIX + "/search", json=search, headers=headers), None)
            time.sleep(0.02)

        self.add(work)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(REQUEST_TIMEOUT + 5)
        assert not any(t.is_alive() for t in self._threads), "a client thread is stuck"

    def of(self, route: str | None = None, phase: str | None = None) -> list[Reply]:
        with self._lock:
            return [
                r for r in self.replies if (route is None or r.route == route) and (phase is None or r.phase == phase)
            ]


def acked_ids(traffic: Traffic, batch: int = 20) -> set[str]:
    """Request ids of every event batch that got a 202."""
    return {f"{r.tag[0]}-{r.tag[1]}-{i}" for r in traffic.of("events") if r.status == 202 for i in range(batch)}


def describe(replies: list[Reply], limit: int = 5) -> str:
    return "; ".join(f"{r.phase} {r.route} {r.status} {str(r.body)[:200]}" for r in replies[:limit])
