"""Three ``grafana-proxy run controller`` processes on one database share the due windows through leases;
one is SIGKILLed in the middle of its work. Every window with events is analysed and stored exactly once,
none is skipped (the dead controller's endpoint is taken over when its lease expires), and the survivors
share the work. On PostgreSQL and MariaDB (``FOR UPDATE SKIP LOCKED``) and SQLite (one writer)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import orjson

from grafana_proxy.model import TimeRange
from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Stores
from grafana_proxy.stores.engine import close_stores, open_stores
from tests.monitoring.conftest import event_row, write_archive

ROOT = Path(__file__).resolve().parents[2]
P = "shared"
PERIOD = 3_000  # 0.05 minute
ENDPOINTS = [f"ep{i}" for i in range(9)]
WINDOWS = 8  # with events, per endpoint
WORK_SECONDS = 0.08  # per window, in the application
LEASE_SECONDS = 2


def seed(stores: Stores, archive_url: str, t0: int) -> set[tuple[str, int]]:
    """One event in each of the first WINDOWS windows after t0, per endpoint; the windows to analyse."""
    expected: set[tuple[str, int]] = set()
    for uid in ENDPOINTS:
        stores.endpoints.upsert(P, uid, {"name": uid, "first_request": t0})
        rows = [event_row(t0 + k * PERIOD + 1, f"{uid}-{k}", {"x": float(k)}) for k in range(WINDOWS)]
        write_archive(archive_url, P, uid, rows, tag=uid)
        expected |= {(uid, t0 + k * PERIOD) for k in range(WINDOWS)}
    return expected


def attempts(record: Path) -> list[tuple[int, str, int]]:
    """(pid, endpoint, window start) of every do_tracking call, in order."""
    if not record.exists():
        return []
    return [(int(p), uid, int(s)) for p, uid, s in (line.split() for line in record.read_text().splitlines())]


def stored(stores: Stores, t0: int) -> list[tuple[str, int]]:
    results = stores.results.query(P, TimeRange(t0, t0 + 10 * WINDOWS * PERIOD), application="recorder")
    return [(r.endpoint_uid, r.start_infer_time) for r in results]


def test_three_controllers_share_the_windows_and_survive_a_sigkill(db_url: str, tmp_path: Path) -> None:
    archive, record = str(tmp_path / "archive"), tmp_path / "analysed.txt"
    stores = open_stores(Settings(db_url=db_url, data_dir=tmp_path / "seed"))
    now = int(time.time() * 1000)
    t0 = (now - (WINDOWS + 2) * PERIOD) // PERIOD * PERIOD
    expected = seed(stores, archive, t0)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRAFANA_PROXY_")}
    env.update(
        PYTHONUNBUFFERED="1",
        GRAFANA_PROXY_DB_URL=db_url,
        GRAFANA_PROXY_DATA_DIR=str(tmp_path / "data"),
        GRAFANA_PROXY_ARCHIVE_URL=archive,
        GRAFANA_PROXY_MONITORING_BASE_PERIOD_MINUTES=str(PERIOD / 60_000),
        GRAFANA_PROXY_MONITORING_WINDOW_DELAY_SECONDS="0",
        GRAFANA_PROXY_MONITORING_APPLICATIONS=orjson.dumps(["recorder"]).decode(),
        GRAFANA_PROXY_MONITORING_APPLICATION_PATHS=orjson.dumps(["tests.monitoring.sample_apps:Recorder"]).decode(),
        GRAFANA_PROXY_CONTROLLER_LEASE_SECONDS=str(LEASE_SECONDS),
        GP_TEST_RECORD=str(record),
        GP_TEST_SECONDS=str(WORK_SECONDS),
    )
    command = [sys.executable, "-m", "grafana_proxy.cli.main", "run", "controller"]
    logs = [(tmp_path / f"controller{i}.log").open("wb") for i in range(3)]
    procs = [subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT) for log in logs]
    try:
        # Kill the controller that analysed the latest window once a fifth of the work is done: it is
        # in the middle of an endpoint, holding its lease.
        deadline = time.monotonic() + 60
        while len(attempts(record)) < len(expected) // 5:
            assert time.monotonic() < deadline, "the controllers analysed too little"
            assert all(p.poll() is None for p in procs), "a controller exited"
            time.sleep(0.05)
        killed = attempts(record)[-1][0]
        os.kill(killed, signal.SIGKILL)
        killed_at = len(attempts(record))
        while set(stored(stores, t0)) != expected:
            assert time.monotonic() < deadline, f"left undone: {sorted(expected - set(stored(stores, t0)))[:5]}"
            time.sleep(0.2)
        time.sleep(1.5)  # a late duplicate would show up by now
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in logs:
            log.close()
    done = attempts(record)
    survivors = {p.pid for p in procs} - {killed}
    assert {pid for pid, _, _ in done} <= {p.pid for p in procs}
    assert all(p.returncode == 0 for p in procs if p.pid != killed)
    # Stored: one result per window, every window.
    assert sorted(stored(stores, t0)) == sorted(expected)
    # Analysed: every window once; the one window the killed controller was in the middle of (not committed)
    # again by the controller that took its endpoint over.
    counts = Counter((uid, start) for _, uid, start in done)
    assert set(counts) == expected
    twice = [key for key, n in counts.items() if n > 1]
    assert len(twice) <= 1 and all(n <= 2 for n in counts.values()), twice
    for key in twice:
        assert sorted(pid == killed for pid, uid, start in done if (uid, start) == key) == [False, True]
    # Shared: each survivor did a fair part of what was left after the kill.
    share = Counter(pid for pid, _, _ in done[killed_at:])
    after = len(done) - killed_at
    distribution = {
        "killed": sum(1 for pid, _, _ in done if pid == killed),
        **{f"survivor{i}": Counter(pid for pid, _, _ in done)[pid] for i, pid in enumerate(sorted(survivors))},
        "after_kill": {str(pid): share[pid] for pid in sorted(survivors)},
    }
    logging.getLogger(__name__).warning("%s windows analysed per controller: %s", db_url.split(":")[0], distribution)
    assert all(share[pid] >= after // 4 for pid in survivors), distribution
    assert stores.leases.leases(P), "the endpoints' lease rows stay, free or held"
    close_stores(stores)
