"""The service as a cluster: 2 api + 2 ingest + 2 controller processes sharing PostgreSQL (or MariaDB),
one JetStream stream and one archive URL. Four clients post 200,000 events through both api processes,
re-sending some batches with the same request ids; during the load one api, one ingest worker and one
controller are SIGKILLed, then restarted. Afterwards: every acknowledged event is in the database exactly
once (per-window counts equal what was sent), in the archive (exactly once after compaction), every
window with events has exactly one set of application results, the surviving api answered every query
meanwhile, and the restarted processes caught up by themselves."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections import Counter
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy import text

from grafana_proxy.archive import read_window
from grafana_proxy.model import TimeRange
from grafana_proxy.settings import Settings
from grafana_proxy.stores.engine import close_stores, engine_of, open_stores
from tests.cluster.harness import PROJECT, Cluster, Load, QueryWatcher, cluster_env, role_command, wait_until

CLIENTS, BATCHES, BATCH_SIZE = 4, 50, 1_000  # 200,000 events
ENDPOINTS = 8
WINDOW_SECONDS = 5  # stream-window period
PERIOD_MS = 6_000  # the controller's base period (0.1 minute)
DELAY_SECONDS = 40  # a window is analysed this long after its end: the ingest lag after a kill fits in it


def _consumer_idle(settings: dict[str, str]) -> bool:
    """True when the stream's consumer has nothing pending and nothing unacknowledged."""

    async def check() -> bool:
        import nats

        client = await nats.connect(settings["stream_url"], connect_timeout=2)
        try:
            info = await client.jetstream().consumer_info(settings["stream_name"], settings["stream_consumer"])
            return bool(info.num_pending == 0 and info.num_ack_pending == 0)
        finally:
            await client.close()

    return asyncio.run(check())


def _attempts(record: Path) -> list[tuple[int, str, int]]:
    """(pid, endpoint, window start) of every window the recorder application was run on."""
    if not record.exists():
        return []
    return [(int(p), uid, int(s)) for p, uid, s in (line.split() for line in record.read_text().splitlines())]


def _expected(load: Load) -> tuple[Counter[tuple[str, int]], Counter[tuple[str, int]], set[tuple[str, int]]]:
    """From the acknowledged batches: events per stream-window bucket, failed ones per bucket, and the
    controller windows (endpoint, start) that hold events."""
    buckets: Counter[tuple[str, int]] = Counter()
    errors: Counter[tuple[str, int]] = Counter()
    windows: set[tuple[str, int]] = set()
    period = WINDOW_SECONDS * 1000
    for client, batch in load.acked:
        sent_at = load.timestamps[load.request_ids(client, batch)[0]]
        for event in load.events(client, batch, sent_at):
            uid, ts = str(event["endpoint_id"]), int(str(event["timestamp"]))
            buckets[(uid, ts // period * period)] += 1
            errors[(uid, ts // period * period)] += "error" in event
            windows.add((uid, ts // PERIOD_MS * PERIOD_MS))
    return buckets, errors, windows


@pytest.mark.parametrize("db_url", ["postgresql", "mariadb"], indirect=True)
def test_cluster_survives_sigkill_of_one_of_each_role(
    db_url: str, stream_settings: dict[str, str], tmp_path: Path
) -> None:
    record = tmp_path / "analysed.txt"
    archive = str(tmp_path / "archive")
    settings = {
        **stream_settings,
        "db_url": db_url,
        "archive_url": archive,
        "auth": "none",
        "metrics_public": "true",
        "stream_ack_wait_seconds": "5",
        "stream_publish_timeout_seconds": "2",
        "window_period_seconds": str(WINDOW_SECONDS),
        "window_lateness_seconds": "2",
        "archive_batch_seconds": "1",
        "monitoring_base_period_minutes": str(PERIOD_MS / 60_000),
        "monitoring_window_delay_seconds": str(DELAY_SECONDS),
        "monitoring_applications": orjson.dumps(["recorder"]).decode(),
        "monitoring_application_paths": orjson.dumps(["tests.monitoring.sample_apps:Recorder"]).decode(),
        "controller_lease_seconds": "3",
    }
    env = cluster_env(settings) | {"GP_TEST_RECORD": str(record), "GP_TEST_SECONDS": "0.02"}
    # Migrations first, once: then every process starts on a ready schema.
    close_stores(open_stores(Settings(db_url=db_url, data_dir=tmp_path / "setup")))
    cluster = Cluster(tmp_path, env)
    apis = [cluster.add(f"api-{i}", "api") for i in (1, 2)]
    ingests = [cluster.add(f"ingest-{i}", "ingest") for i in (1, 2)]
    controllers = [cluster.add(f"controller-{i}", "controller") for i in (1, 2)]
    try:
        for role in cluster.roles.values():
            role.start()
        for api in apis:
            api.wait_ready()
        load = Load(
            apis, key="", clients=CLIENTS, batches_per_client=BATCHES, batch_size=BATCH_SIZE,
            endpoints=ENDPOINTS, resend_every=5,
        )  # fmt: skip
        killed_pid = controllers[0].process.pid if controllers[0].process else 0

        def chaos() -> None:
            wait_until(
                lambda: load.done() >= CLIENTS * BATCHES // 4, 120, "a quarter of the load acknowledged", cluster
            )
            for role in (apis[0], ingests[0], controllers[0]):
                role.kill9()
            time.sleep(2)
            ingests[0].start()
            controllers[0].start()
            time.sleep(2)
            apis[0].start()
            apis[0].wait_ready()

        with QueryWatcher(apis[1], key="") as watcher:
            load.run(during=chaos)
        assert load.done() == CLIENTS * BATCHES, f"batches never acknowledged; {load.statuses} {load.failures}"
        buckets, errors, windows = _expected(load)
        last = {uid: max(start for u, start in windows if u == uid) for uid, _ in windows}

        # The restarted processes catch up by themselves: the stream drains, the controllers reach the end.
        wait_until(lambda: _consumer_idle(stream_settings), 120, "the stream consumed", cluster)
        wait_until(
            lambda: set(last.items()) <= {(uid, start) for _, uid, start in _attempts(record)},
            DELAY_SECONDS + 60,
            "the controllers analysed every endpoint's last window",
            cluster,
        )
        # An upload staged by one api is read by one of the ingest processes (stream mode reads uploads too).
        upload = httpx.post(
            f"{apis[1].url}/api/v1/projects/{PROJECT}/batches?job=nightly&prediction=score&time=2026-01-02T03:04:05Z",
            content=b"x,score\n1.5,0.9\n2.5,0.1\n",
            headers={"Content-Type": "text/csv"},
        )
        assert upload.status_code == 202, upload.text
        status = wait_until(
            lambda: (
                (s := httpx.get(f"{apis[0].url}{upload.json()['status_url']}?wait=5", timeout=30).json())["status"]
                in ("done", "failed")
                and s
            ),
            60,
            "the upload read by an ingest process",
            cluster,
        )
        assert status["status"] == "done" and status["result"]["rows"] == 2, status
        assert all(role.alive() for role in cluster.roles.values()), cluster.logs()
    finally:
        cluster.stop()

    # The surviving api answered every panel query during the load and the kills.
    assert set(watcher.statuses) == {200}, watcher.statuses
    assert sum(watcher.statuses.values()) > 20

    # Every acknowledged event exactly once: request ids, per-window counts, error counts.
    stores = open_stores(Settings(db_url=db_url, data_dir=tmp_path / "check"))
    try:
        with engine_of(stores).connect() as conn:
            ids = conn.execute(text("SELECT count(*) FROM request_ids WHERE project = :p"), {"p": PROJECT}).scalar()
            rows = conn.execute(
                text("SELECT endpoint_uid, start_ms, count, errors, requests FROM window_buckets WHERE project = :p"),
                {"p": PROJECT},
            ).all()
        results = stores.results.query(
            PROJECT, TimeRange(0, int(time.time() * 1000) + 3_600_000), application="recorder"
        )
    finally:
        close_stores(stores)
    assert ids == len(load.timestamps) == CLIENTS * BATCHES * BATCH_SIZE
    assert {(uid, start): (count, err, req) for uid, start, count, err, req in rows} == {
        key: (n, errors[key], n) for key, n in buckets.items()
    }
    # Every window with events has exactly one set of application results ...
    stored = Counter((r.endpoint_uid, r.start_infer_time) for r in results if r.endpoint_uid.startswith("ep-"))
    assert set(stored) == windows and max(stored.values()) == 1
    # ... and was analysed twice only when the controller killed in it had started it (its lease expired and
    # another controller took the endpoint over).
    analysed = _attempts(record)
    twice = {w for w, n in Counter((uid, s) for _, uid, s in analysed).items() if n > 1}
    assert twice <= {(uid, s) for pid, uid, s in analysed if pid == killed_pid}, twice
    # The archive holds every acknowledged event; after compaction exactly once (a worker killed between
    # an archive flush and its acknowledgements leaves rows its redelivery archives again). Every process
    # has stopped, so files of any age may be merged.
    compact = role_command("archive", "compact", "--min-files", "1", "--min-age", "0")
    subprocess.run(compact, env=cluster.env, check=True, timeout=120)
    archived: Counter[str] = Counter()
    for i in range(ENDPOINTS):
        frame = read_window(archive, PROJECT, f"ep-{i}", 0, max(load.timestamps.values()) + 60_000)
        if frame is not None:
            archived.update(frame["request_id"])
    assert set(archived) == set(load.timestamps)
    assert max(archived.values()) == 1
