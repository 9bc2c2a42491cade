"""PostgreSQL stopped (immediate shutdown, i.e. a crash) and restarted under a running ``serve`` while
events stream in and Grafana refreshes: queries fail fast with a JSON 503, /readyz says 503, events
are acknowledged only when spooled durably (and then appear) or refused with 503; after the restart
the service recovers by itself and every acknowledged event is in the stores exactly once."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx

from grafana_proxy.archive import read_window
from grafana_proxy.settings import Settings
from grafana_proxy.stores.engine import close_stores, open_stores
from tests.faults.conftest import PrivatePostgres, ServeProcess, serve_env, start_serve
from tests.faults.traffic import Traffic, acked_ids, describe

PROJECT = "faults"
ENDPOINTS = ("ep-a", "ep-b")
LATE = "ep-late"  # first seen while the database is down: registered once it is back
FAIL_FAST_SECONDS = 5.0  # "not hang": a 503 must come well before a Grafana panel's own timeout


def _always(uid: str) -> Callable[[int], str]:
    return lambda _: uid


def _wait_ready(server: ServeProcess, expect: int, deadline_seconds: float) -> None:
    deadline = time.monotonic() + deadline_seconds
    status = None
    while time.monotonic() < deadline:
        try:
            status = httpx.get(f"{server.url}/readyz", timeout=5).status_code
        except httpx.HTTPError:
            status = None
        if status == expect:
            return
        time.sleep(0.2)
    raise AssertionError(f"/readyz did not become {expect} (last {status}):\n{server.log()[-3000:]}")


def _error_counts(url: str, data_dir: Path) -> dict[str, int]:
    stores = open_stores(Settings(db_url=url, data_dir=data_dir))
    try:
        return {e.uid: e.error_count for e in (stores.endpoints.get(PROJECT, u) for u in (*ENDPOINTS, LATE)) if e}
    finally:
        close_stores(stores)


def _archived(data_dir: Path) -> Counter[str]:
    archive = Settings(data_dir=data_dir).archive_location
    counts: Counter[str] = Counter()
    for uid in (*ENDPOINTS, LATE):
        frame = read_window(archive, PROJECT, uid, 0, 2**42)
        if len(frame):
            counts.update(frame["request_id"])
    return counts


def test_postgres_down_then_back_fails_fast_recovers_and_keeps_every_acknowledged_event(
    private_postgres: PrivatePostgres, tmp_path: Path, serve_factory: list[ServeProcess]
) -> None:
    data_dir = tmp_path / "data"
    env = serve_env(
        data_dir,
        GRAFANA_PROXY_DB_URL=private_postgres.url,
        GRAFANA_PROXY_AUTH="none",  # events are then refused only for real reasons, not for a key lookup
        GRAFANA_PROXY_WINDOW_PERIOD_SECONDS="0.5",
        GRAFANA_PROXY_ARCHIVE_BATCH_SECONDS="0.5",
    )
    server = start_serve(env, tmp_path / "serve.log")
    serve_factory.append(server)

    traffic = Traffic(server.url)
    for k, uid in enumerate(ENDPOINTS):
        traffic.add_poster(PROJECT, _always(uid), f"p{k}")
    traffic.add_reader(PROJECT)
    traffic.add_reader(PROJECT)
    time.sleep(2.0)

    private_postgres.stop("immediate")
    traffic.phase = "down"
    # A poster for an endpoint nobody has seen yet: its registration has to wait for the database.
    traffic.add_poster(PROJECT, lambda n: LATE, "late")
    time.sleep(1.0)
    ready = httpx.get(f"{server.url}/readyz", timeout=FAIL_FAST_SECONDS)
    assert ready.status_code == 503 and ready.json()["message"], ready.text
    # The write API needs the database itself: refused the same way, nothing half-written.
    put = httpx.put(
        f"{server.url}/api/v1/projects/{PROJECT}/model-endpoints/ep-a", json={"labels": {"x": "1"}}, timeout=10
    )
    assert put.status_code == 503 and "unavailable" in put.json()["message"], put.text
    time.sleep(3.0)

    traffic.phase = "restarting"
    private_postgres.start()
    _wait_ready(server, 200, 30)  # no restart of our server: it reconnects by itself
    traffic.phase = "recovered"
    time.sleep(2.0)
    traffic.stop()

    everything = traffic.of()
    # Only three answers ever: 200 (queries), 202 (events), 503 with a JSON message. No 500, no hang.
    odd = [r for r in everything if r.status not in (200, 202, 503)]
    assert not odd, f"unexpected answers: {describe(odd)}\n{server.log()[-3000:]}"
    unavailable = [r for r in everything if r.status == 503]
    assert all(isinstance(r.body, dict) and r.body.get("message") for r in unavailable), describe(unavailable)
    slow = [r for r in unavailable if r.seconds > FAIL_FAST_SECONDS]
    assert not slow, f"503s took too long (should fail fast): {describe(slow)}"

    down_queries = traffic.of(phase="down")
    down_reads = [r for r in down_queries if r.route != "events"]
    assert down_reads, "no query was made while the database was down"
    assert any(r.status == 503 for r in down_reads), describe(down_reads)
    # Reads that started at least a second into the outage can no longer be served from a live connection.
    late_reads = [r for r in down_reads if r.started > down_reads[0].started + 1.0]
    assert late_reads and all(r.status == 503 for r in late_reads), describe([r for r in late_reads if r.status != 503])
    recovered_reads = [r for r in traffic.of(phase="recovered") if r.route != "events"]
    assert recovered_reads and all(r.status == 200 for r in recovered_reads), describe(
        [r for r in recovered_reads if r.status != 200]
    )
    # Events while down: the spool does not need the database, so they are acknowledged (durably).
    down_events = [r for r in down_queries if r.route == "events"]
    assert any(r.status == 202 for r in down_events), describe(down_events)

    # Everything acknowledged reaches the stores exactly once, without restarting the server.
    acked = acked_ids(traffic)
    expected = Counter(i.split("-")[0] for i in acked)
    deadline = time.monotonic() + 60
    while True:
        counts = _error_counts(private_postgres.url, data_dir)
        got = {"p0": counts.get("ep-a", 0), "p1": counts.get("ep-b", 0), "late": counts.get(LATE, 0)}
        if got == {k: expected.get(k, 0) for k in got} or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert got == {k: expected.get(k, 0) for k in got}, f"error_count per endpoint {got}, acknowledged {expected}"

    assert server.stop() in (0, -15)
    archived = _archived(data_dir)
    assert acked <= set(archived), f"{len(acked - set(archived))} acknowledged events missing from the archive"
    assert max(archived.values()) == 1, "an event was archived twice"
