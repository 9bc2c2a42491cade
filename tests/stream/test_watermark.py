"""The controller in stream mode waits for the ingest: a window is not analysed while batches accepted
before its end (plus the window delay) are still in the JetStream stream, not yet folded and archived;
once a worker has folded them, the windows are analysed with all their events. NATS unreachable: no
window is analysed on a guess, and the analysis resumes once it is back. Real NATS, PostgreSQL, archive."""

from __future__ import annotations

import logging
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from grafana_proxy.clock import now_ms
from grafana_proxy.model import TimeRange
from grafana_proxy.monitoring.build import build_controller
from grafana_proxy.runtime import Runtime
from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Stores
from grafana_proxy.stream.config import StreamConfig
from grafana_proxy.stream.watermark import JetStreamWatermark
from tests.servers import PrivateNats
from tests.stream.helpers import (
    PROJECT,
    UID,
    consumer_backlog,
    publish,
    record,
    request_ids,
    settings_for,
    wait_for,
    workers,
)

PERIOD = 1_000  # ms; base_period_minutes below
DELAY = 500  # ms; monitoring_window_delay_seconds below
APP = "row-count"


def controller_settings(stream: dict[str, str], db_url: str, data_dir: Path) -> Settings:
    return settings_for(
        stream,
        db_url,
        data_dir,
        monitoring_base_period_minutes=PERIOD / 60_000,
        monitoring_window_delay_seconds=DELAY / 1000,
        monitoring_applications=[APP],
        monitoring_application_paths=["tests.monitoring.sample_apps:RowCount"],
    )


def stamped(tag: str, count: int) -> list[dict[str, Any]]:
    """Events made now: timestamped at the instant they are sent, as a live model's are."""
    at = now_ms()
    return [
        {"endpoint_id": UID, "timestamp": at, "request_id": f"{tag}-{i}", "inputs": [float(i)], "feature_names": ["x"]}
        for i in range(count)
    ]


def window_rows(events: list[dict[str, Any]]) -> dict[int, int]:
    """Window start -> events in it."""
    return dict(Counter(int(e["timestamp"]) // PERIOD * PERIOD for e in events))


def analysed(stores: Stores, since: int) -> dict[int, int]:
    """Window start -> rows the application counted, for the windows with a result."""
    results = stores.results.query(PROJECT, TimeRange(since, now_ms() + 60_000), application=APP)
    return {r.start_infer_time: int(r.value) for r in results if r.name == "rows"}


def schedule(stores: Stores) -> int | None:
    return stores.schedules.last_analyzed(PROJECT).get((APP, UID))


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_windows_wait_for_batches_still_in_the_stream_then_get_all_their_events(
    stream_settings: dict[str, str], db_url: str, stores: Stores, tmp_path: Path
) -> None:
    settings = controller_settings(stream_settings, db_url, tmp_path / "data")
    # An endpoint the ingest knows already (folded, archived, acknowledged): the consumer exists.
    first = stamped("a", 5)
    publish(settings, [record(first)])
    with workers(settings, 1):
        wait_for(lambda: request_ids(stores) == 5 and consumer_backlog(settings) == 0, 30, "the first fold")
    # Then the ingest lags: batches made over the next windows wait in the stream, unconsumed.
    later: list[dict[str, Any]] = []
    for n in range(6):
        time.sleep(0.4)
        made = stamped(f"b{n}", 10)
        publish(settings, [record(made)])
        later += made
    oldest = JetStreamWatermark(StreamConfig.from_settings(settings)).oldest_waiting()
    assert oldest is not None and oldest >= int(later[0]["timestamp"])
    # By the clock every window is due: each ended more than the delay ago.
    time.sleep(max(0.0, (int(later[-1]["timestamp"]) // PERIOD * PERIOD + PERIOD + DELAY - now_ms()) / 1000) + 0.1)
    runtime = Runtime.build(settings)
    try:
        controller = build_controller(runtime)
        started = now_ms()
        held = controller.run_once(started)
        reached = schedule(stores)
        assert reached is None or reached <= oldest - DELAY, "a window with batches still in the stream was analysed"
        assert all(start + PERIOD <= oldest - DELAY for start in analysed(stores, 0))
        assert held.failures == []
        assert held.ready_until is not None and oldest <= held.ready_until < started

        with workers(settings, 1):
            wait_for(lambda: request_ids(stores) == 5 + len(later) and consumer_backlog(settings) == 0, 30, "the fold")
        caught_up = controller.run_once()
        assert caught_up.failures == [] and caught_up.ready_until is not None
    finally:
        runtime.close()
    # Every window with events was analysed once, with all of them (an empty window has no result).
    assert analysed(stores, 0) == window_rows(first + later)


def test_nats_unreachable_analyses_no_window_until_it_is_back(
    private_nats: PrivateNats, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db_url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    stream = {"stream_url": private_nats.url, "stream_name": "GP_WATERMARK", "stream_subject_prefix": "gp-wm"}
    settings = controller_settings(stream, db_url, tmp_path / "data")
    runtime = Runtime.build(settings)
    try:
        stores = runtime.stores
        since = now_ms() // PERIOD * PERIOD - 5 * PERIOD
        stores.endpoints.upsert(PROJECT, UID, {"name": UID, "first_request": since})
        controller = build_controller(runtime)
        private_nats.stop()
        caplog.set_level(logging.WARNING, logger="grafana_proxy.monitoring.watermark")
        timer = time.perf_counter()
        down = [controller.run_once(), controller.run_once()]
        seconds = (time.perf_counter() - timer) / 2
        assert schedule(stores) is None, "a window was analysed while the ingest's progress was unknown"
        assert [s.windows for s in down] == [0, 0] and [s.ready_until for s in down] == [None, None]
        assert all(s.failures and s.failures[0].startswith("ingest watermark: ") for s in down)
        assert private_nats.url in down[0].failures[0]
        assert seconds < 2.0  # refused at once; one more try after 0.5 s
        assert len([r for r in caplog.records if "ingest progress unknown" in r.message]) == 1  # logged once
        private_nats.start()
        back = controller.run_once()
    finally:
        runtime.close()
    # The stream was never made: nothing is waiting, every window by the clock is analysed (as empty).
    reached = schedule(stores)
    assert back.failures == [] and reached is not None and reached >= since + 5 * PERIOD
    assert back.windows == (reached - since) // PERIOD
