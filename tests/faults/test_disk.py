"""A full disk (a size-limited tmpfs, filled up) and a read-only data dir (a bind mount remounted
read-only: chmod does not stop root) under a running ``serve``: clear errors at start-up, events
refused with a JSON 507/503 (never acknowledged) while the disk is unusable, and once it is usable
again the same server carries on with every acknowledged event stored exactly once, the SQLite file
passing ``PRAGMA integrity_check`` and the archive readable with ``pandas.read_parquet``."""

from __future__ import annotations

import dataclasses
import sqlite3
import time
from collections import Counter
from pathlib import Path

import httpx
import pandas as pd
import pytest

from grafana_proxy.archive import read_window
from grafana_proxy.ingest.config import IngestConfig
from grafana_proxy.ingest.events import parse_batch
from grafana_proxy.ingest.pipeline import IngestPipeline
from grafana_proxy.ingest.spool import Spool, SpoolReader
from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Stores
from tests.faults.conftest import ServeProcess, serve_env, set_read_only, start_serve
from tests.faults.traffic import PREFIX

PROJECT = "disk"
UID = "ep"
BATCH = 200


def _event(tag: str, i: int) -> dict[str, object]:
    return {
        "endpoint_id": UID,
        "timestamp": int(time.time() * 1000),
        "request_id": f"{tag}-{i}",
        "inputs": [[i, 0.25, 0.5, 0.75]],
        "outputs": [1],
        "latency": 100,
        "error": "disk-test " + "x" * 100,  # a bigger payload: the spool record spans several pages
    }


def _post(server: ServeProcess, tag: str) -> httpx.Response:
    events = [_event(tag, i) for i in range(BATCH)]
    return httpx.post(f"{server.url}/api/v1/projects/{PROJECT}/events", json=events, timeout=30)


def _error_count(server: ServeProcess) -> int:
    reply = httpx.post(
        f"{server.url}{PREFIX}/query",
        json={"targets": [{"target": f"target_endpoint=project_summary;project={PROJECT}", "type": "table"}]},
        timeout=30,
    )
    assert reply.status_code == 200, reply.text
    frame = reply.json()[0]
    return int(dict(zip([c["text"] for c in frame["columns"]], frame["rows"][0], strict=True))["error_count"] or 0)


def _wait_for_fold(server: ServeProcess, expected: int) -> None:
    deadline = time.monotonic() + 45
    count = -1
    while time.monotonic() < deadline:
        count = _error_count(server)
        if count == expected:
            return
        time.sleep(0.3)
    raise AssertionError(f"error_count {count}, acknowledged {expected}:\n{server.log()[-4000:]}")


def _refused_properly(reply: httpx.Response) -> bool:
    return reply.status_code in (503, 507) and bool(reply.json().get("message"))


def _check_stores(data_dir: Path, acked: set[str]) -> None:
    # immutable: a cleanly closed WAL database leaves no -shm file, and a read-only directory can't get one.
    with sqlite3.connect(f"file:{data_dir / 'grafana-proxy.db'}?immutable=1", uri=True) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    frame = pd.read_parquet(data_dir / "archive")
    counts = Counter(frame["request_id"])
    assert acked <= set(counts), f"{len(acked - set(counts))} acknowledged events missing from the archive"
    assert max(counts.values()) == 1, "an event was archived twice"


def _fill(directory: Path) -> Path:
    """Write a file until the filesystem is full, down to the last page."""
    filler = directory / "filler"
    with open(filler, "wb", buffering=0) as f:
        for chunk in (1 << 20, 1 << 16, 1 << 12, 1 << 9):
            try:
                while True:
                    f.write(b"\0" * chunk)
            except OSError:
                pass
    return filler


def _server_env(data_dir: Path) -> dict[str, str]:
    return serve_env(
        data_dir,
        GRAFANA_PROXY_AUTH="none",
        GRAFANA_PROXY_WINDOW_PERIOD_SECONDS="0.3",
        GRAFANA_PROXY_ARCHIVE_BATCH_SECONDS="0.3",
    )


def _start_refused(data_dir: Path, log: Path, reason: str) -> None:
    """``serve`` on an unusable data dir exits at once with one clear line: the directory and the fix."""
    env = _server_env(data_dir) | {"COLUMNS": "1000"}  # rich wraps stderr at the terminal width
    server = start_serve(env, log, wait=False)
    try:
        code = server.proc.wait(60)
    finally:
        server.stop()
    output = server.log()
    assert code != 0, output
    assert str(data_dir) in output and reason in output, output
    assert "GRAFANA_PROXY_DATA_DIR" in output, output
    assert "Traceback" not in output, output


def test_spool_appends_failing_on_a_full_disk_leave_no_torn_record(small_tmpfs: Path) -> None:
    """Each failed append (a short write, then ENOSPC) is cut off again, also the second and third in a
    row: a torn record left in the file would end the readable spool there, hiding later records."""
    spool = Spool(small_tmpfs / "wal")
    kept = [spool.append(b"a" * 50_000) for _ in range(3)]
    filler = _fill(small_tmpfs)
    for _ in range(3):
        try:
            spool.append(b"b" * 50_000)
        except OSError:
            continue
        raise AssertionError("an append on a full disk succeeded")
    filler.unlink()
    kept += [spool.append(b"c" * 50_000) for _ in range(2)]
    records = SpoolReader(spool.directory, 0).read()
    assert [seq for seq, _ in records] == kept == [1, 2, 3, 4, 5]
    assert [payload[:1] for _, payload in records] == [b"a", b"a", b"a", b"c", b"c"]
    spool.close()
    reopened = Spool(small_tmpfs / "wal")
    try:
        assert reopened.next_seq == 6  # reopening finds the same records, nothing cut
    finally:
        reopened.close()


def test_archive_volume_full_for_a_while_delays_the_fold_but_loses_nothing(
    small_tmpfs: Path, tmp_path: Path, sqlite_stores: Stores, caplog: pytest.LogCaptureFixture
) -> None:
    """The archive on its own volume (or an object store) fails for longer than one retry, so the worker's
    state rebuild fails too; then space comes back. Every event must still reach the archive and the
    endpoint record (window flushes are rare here, so the record is only written after the outage)."""
    config = dataclasses.replace(
        IngestConfig.from_settings(Settings(data_dir=tmp_path / "data", archive_url=str(small_tmpfs / "archive"))),
        archive_batch_seconds=0.3,
        window_period_seconds=3600,
    )
    filler = _fill(small_tmpfs)
    pipeline = IngestPipeline(config, sqlite_stores)
    pipeline.start()
    try:
        pipeline.submit(parse_batch(PROJECT, [_event("a", i) for i in range(BATCH)], BATCH))
        deadline = time.monotonic() + 30
        while not any("recovery failed" in r.getMessage() for r in caplog.records):
            assert time.monotonic() < deadline, [r.getMessage() for r in caplog.records]
            time.sleep(0.05)
        filler.unlink()
        while list((small_tmpfs / "archive").rglob("*.parquet")) == []:
            assert time.monotonic() < deadline, "the archive flush did not resume"
            time.sleep(0.05)
    finally:
        pipeline.stop()
    record = sqlite_stores.endpoints.get(PROJECT, UID)
    assert record is not None and record.error_count == BATCH
    frame = read_window(config.archive_url, PROJECT, UID, 0, 2**42)
    assert sorted(frame["request_id"]) == sorted(f"a-{i}" for i in range(BATCH))


def test_disk_full_refuses_events_cleanly_and_recovers_without_corruption(
    small_tmpfs: Path, tmp_path: Path, serve_factory: list[ServeProcess]
) -> None:
    data_dir = small_tmpfs / "data"
    server = start_serve(_server_env(data_dir), tmp_path / "serve.log")
    serve_factory.append(server)
    acked: set[str] = set()
    for n in range(5):
        assert _post(server, f"before{n}").status_code == 202
        acked.update(f"before{n}-{i}" for i in range(BATCH))
    _wait_for_fold(server, len(acked))

    filler = _fill(small_tmpfs)
    refused = 0
    for n in range(20):
        reply = _post(server, f"full{n}")
        if reply.status_code == 202:  # only if it really fitted on the disk
            acked.update(f"full{n}-{i}" for i in range(BATCH))
        else:
            assert _refused_properly(reply), reply.text
            refused += 1
    assert refused >= 15, f"only {refused} of 20 batches refused on a full disk"
    assert reply.status_code == 507 and "space" in reply.json()["message"], reply.text
    # The write API on the full disk: stored, or refused with a JSON 503/507 (SQLite "disk is full").
    put = httpx.put(
        f"{server.url}/api/v1/projects/{PROJECT}/model-endpoints/{UID}",
        json={"labels": {"note": "y" * 20_000}},
        timeout=30,
    )
    assert put.status_code == 200 or _refused_properly(put), put.text
    # The datasource keeps answering from what is stored.
    assert _error_count(server) >= 5 * BATCH
    _start_refused(small_tmpfs / "other", tmp_path / "refused.log", "No space left on device")

    filler.unlink()  # space is back: the same server carries on
    for n in range(5):
        reply = _post(server, f"after{n}")
        assert reply.status_code == 202, reply.text
        acked.update(f"after{n}-{i}" for i in range(BATCH))
    _wait_for_fold(server, len(acked))
    assert server.stop() in (0, -15)
    _check_stores(data_dir, acked)

    # A restart replays the spool: nothing is counted twice.
    again = start_serve(_server_env(data_dir), tmp_path / "serve2.log")
    serve_factory.append(again)
    _wait_for_fold(again, len(acked))
    assert again.stop() in (0, -15)
    _check_stores(data_dir, acked)


def test_read_only_data_dir_is_a_clear_error_at_start_and_the_data_survives(
    bind_mount: tuple[Path, Path], tmp_path: Path, serve_factory: list[ServeProcess]
) -> None:
    # Linux refuses "remount,ro" (EBUSY) while a process holds files open for writing there, i.e. while
    # serve runs; a disk that fails *during* operation is covered by the full-disk test above. Here the
    # data dir is read-only when serve starts: an existing one (with data) and a fresh one.
    _, view = bind_mount
    data_dir = view / "data"
    server = start_serve(_server_env(data_dir), tmp_path / "serve.log")
    serve_factory.append(server)
    acked: set[str] = set()
    for n in range(3):
        assert _post(server, f"rw{n}").status_code == 202
        acked.update(f"rw{n}-{i}" for i in range(BATCH))
    _wait_for_fold(server, len(acked))
    assert server.stop() in (0, -15)

    set_read_only(view, True)
    _start_refused(data_dir, tmp_path / "refused.log", "Read-only file system")
    _start_refused(view / "fresh", tmp_path / "refused-fresh.log", "Read-only file system")
    _check_stores(data_dir, acked)  # reading a read-only copy works and finds it intact

    set_read_only(view, False)
    again = start_serve(_server_env(data_dir), tmp_path / "serve2.log")
    serve_factory.append(again)
    assert _error_count(again) == len(acked)
    for n in range(2):
        assert _post(again, f"back{n}").status_code == 202
        acked.update(f"back{n}-{i}" for i in range(BATCH))
    _wait_for_fold(again, len(acked))
    assert again.stop() in (0, -15)
    _check_stores(data_dir, acked)
