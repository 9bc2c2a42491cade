"""The controller against real stores and a real Parquet archive: windows, catch-up, restarts, failure
isolation, archive outages."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from grafana_proxy.model import ResultKind, ResultStatus, SeriesKind, TimeRange
from grafana_proxy.monitoring.controller import ERROR_RESULT
from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Stores
from tests.monitoring.conftest import MINUTE, PERIOD, T0, MakeController, event_row, write_archive
from tests.monitoring.sample_apps import Broken, NotFinite, RowCount

P, UID = "shop", "ep1"
DELAY = 60_000


def seed(stores: Stores, archive_url: str, minutes: range, uid: str = UID) -> None:
    """One event per minute in ``minutes`` after T0; the endpoint's first request is the first of them."""
    stores.endpoints.upsert(P, uid, {"name": uid, "first_request": T0 + minutes[0] * MINUTE})
    rows = [event_row(T0 + m * MINUTE + 1, f"{uid}-{m}", {"x": float(m)}) for m in minutes]
    write_archive(archive_url, P, uid, rows, tag=f"{uid}-{minutes[0]}")


def ends(stores: Stores, application: str = "row-count", name: str = "rows", uid: str = UID) -> list[int]:
    results = stores.results.query(P, TimeRange(0, T0 + 100 * PERIOD), [uid], application, [name])
    return [r.end_infer_time for r in results]


def test_catches_up_every_complete_window_then_resumes_after_restart(
    sqlite_stores: Stores, archive_url: str, make_controller: MakeController
) -> None:
    seed(sqlite_stores, archive_url, range(5, 95))
    first = make_controller([RowCount()]).run_once(now=T0 + 6 * PERIOD + DELAY)
    assert first.windows == 6 and not first.failures
    assert ends(sqlite_stores) == [T0 + k * PERIOD for k in range(1, 7)]
    # The window in progress (and one not yet past the delay) waits.
    assert make_controller([RowCount()]).run_once(now=T0 + 7 * PERIOD + DELAY - 1).windows == 0
    # A new process later: picks up exactly where the last one stopped.
    second = make_controller([RowCount()]).run_once(now=T0 + 9 * PERIOD + 5 * MINUTE + DELAY)
    assert second.windows == 3
    assert ends(sqlite_stores) == [T0 + k * PERIOD for k in range(1, 10)]
    values = [r.value for r in sqlite_stores.results.query(P, TimeRange(0, T0 + 100 * PERIOD), [UID], "row-count")]
    assert values == [5.0] + [10.0] * 8  # window [T0, T0+10m) holds minutes 5..9 only


def test_metrics_are_points_at_the_window_end(
    sqlite_stores: Stores, archive_url: str, make_controller: MakeController
) -> None:
    seed(sqlite_stores, archive_url, range(0, 30))
    make_controller([RowCount()]).run_once(now=T0 + 3 * PERIOD + DELAY)
    latest = sqlite_stores.series.latest(P, [UID], SeriesKind.metric, ["rows"])
    assert latest[(UID, "rows")] == (T0 + 3 * PERIOD, 10.0)


def test_a_failing_application_is_recorded_and_does_not_stop_the_others(
    sqlite_stores: Stores, archive_url: str, make_controller: MakeController
) -> None:
    seed(sqlite_stores, archive_url, range(0, 20))
    summary = make_controller([Broken(), NotFinite(), RowCount()]).run_once(now=T0 + 2 * PERIOD + DELAY)
    assert len(summary.failures) == 4
    assert ends(sqlite_stores) == [T0 + PERIOD, T0 + 2 * PERIOD]
    for app, message in (("broken", "RuntimeError: model registry unreachable"), ("not-finite", "non-finite")):
        errors = sqlite_stores.results.query(P, TimeRange(0, T0 + 10 * PERIOD), [UID], app, [ERROR_RESULT])
        assert [e.end_infer_time for e in errors] == [T0 + PERIOD, T0 + 2 * PERIOD]
        assert errors[0].status == ResultStatus.irrelevant and message in errors[0].extra_data["error"]
    # Failed windows count as analysed: the next pass does not retry them.
    assert make_controller([Broken()]).run_once(now=T0 + 2 * PERIOD + DELAY).windows == 0


def test_archive_outage_retries_the_window_next_pass(
    sqlite_stores: Stores, archive_url: str, make_controller: MakeController
) -> None:
    seed(sqlite_stores, archive_url, range(0, 20))

    def unreachable(project: str, uid: str, start: int, end: int) -> pd.DataFrame:
        raise OSError("s3 bucket unreachable")

    down = make_controller([RowCount()], reader=unreachable).run_once(now=T0 + 2 * PERIOD + DELAY)
    assert down.failures and "s3 bucket unreachable" in down.failures[0]
    assert ends(sqlite_stores) == []
    make_controller([RowCount()]).run_once(now=T0 + 2 * PERIOD + DELAY)
    assert ends(sqlite_stores) == [T0 + PERIOD, T0 + 2 * PERIOD]


def test_empty_windows_advance_without_results_and_pass_size_is_capped(
    sqlite_stores: Stores, archive_url: str, make_controller: MakeController
) -> None:
    seed(sqlite_stores, archive_url, range(0, 5))
    write_archive(archive_url, P, UID, [event_row(T0 + 45 * MINUTE, "late", {"x": 1.0})], tag="b")
    capped = make_controller([RowCount()], max_windows_per_pass=2).run_once(now=T0 + 5 * PERIOD + DELAY)
    assert capped.windows == 2 and capped.empty == 1
    rest = make_controller([RowCount()], max_windows_per_pass=2).run_once(now=T0 + 5 * PERIOD + DELAY)
    assert rest.windows == 2 and rest.empty == 2
    final = make_controller([RowCount()], max_windows_per_pass=2).run_once(now=T0 + 5 * PERIOD + DELAY)
    assert final.windows == 1 and final.empty == 0
    assert ends(sqlite_stores) == [T0 + PERIOD, T0 + 5 * PERIOD]


def test_endpoints_without_traffic_disabled_or_routers_are_skipped(
    sqlite_stores: Stores, archive_url: str, make_controller: MakeController
) -> None:
    seed(sqlite_stores, archive_url, range(0, 10))
    seed(sqlite_stores, archive_url, range(0, 10), uid="off")
    seed(sqlite_stores, archive_url, range(0, 10), uid="router")
    sqlite_stores.endpoints.upsert(P, "off", {"monitoring_mode": "disabled"})
    sqlite_stores.endpoints.upsert(P, "router", {"endpoint_type": 2})
    sqlite_stores.endpoints.upsert(P, "idle", {"name": "idle"})
    summary = make_controller([RowCount()]).run_once(now=T0 + PERIOD + DELAY)
    assert summary.windows == 1
    assert sqlite_stores.results.applications(P) == ["row-count"]
    assert {r.endpoint_uid for r in sqlite_stores.results.latest(P)} == {UID}


def test_drift_application_through_the_controller_updates_record_metrics_and_results(
    sqlite_stores: Stores, archive_url: str, make_controller: MakeController
) -> None:
    from grafana_proxy.apps.histogram_data_drift import HistogramDataDrift

    reference = {"x": {"count": 10, "mean": 4.5, "hist": [[5, 5], [0.0, 5.0, 10.0]]}}
    sqlite_stores.endpoints.upsert(P, UID, {"first_request": T0, "feature_stats": reference, "feature_names": ["x"]})
    rows = [event_row(T0 + i * 1000, f"r{i}", {"x": float(i % 10)}) for i in range(100)]  # like the reference
    rows += [event_row(T0 + PERIOD + i * 1000, f"s{i}", {"x": 50.0}) for i in range(100)]  # far outside
    write_archive(archive_url, P, UID, rows)
    make_controller([HistogramDataDrift()]).run_once(now=T0 + 2 * PERIOD + DELAY)
    results = sqlite_stores.results.query(
        P, TimeRange(0, T0 + 5 * PERIOD), [UID], "histogram-data-drift", ["general_drift"]
    )
    assert [(r.end_infer_time, r.status, r.kind) for r in results] == [
        (T0 + PERIOD, ResultStatus.no_detection, ResultKind.data_drift),
        (T0 + 2 * PERIOD, ResultStatus.detected, ResultKind.data_drift),
    ]
    assert results[0].value == pytest.approx(0.0, abs=1e-7) and results[1].value == pytest.approx(1.0)
    assert results[1].extra_data["drift_status"] == "2"
    record = sqlite_stores.endpoints.get(P, UID)
    assert record is not None
    assert record.drift_status == ResultStatus.detected
    assert record.drift_measures["tvd_mean"] == pytest.approx(1.0)
    assert record.current_stats["x"]["hist"][0] == [0, 0, 0, 100]
    series = sqlite_stores.series.query(
        P, [UID], SeriesKind.metric, ["tvd_mean", "hellinger_mean", "kld_mean"], TimeRange(T0, T0 + 3 * PERIOD), MINUTE
    )
    assert {s.name for s in series} == {"tvd_mean", "hellinger_mean", "kld_mean"}


def test_days_without_archived_events_are_skipped_without_reading_windows(
    sqlite_stores: Stores, archive_url: str
) -> None:
    """With the archive's day listing, a month of empty windows costs no window reads; the schedule
    still ends up where walking every window would have put it."""
    from functools import partial

    from grafana_proxy.archive.reader import archived_days, read_archived_window
    from grafana_proxy.monitoring.config import MonitoringConfig
    from grafana_proxy.monitoring.controller import Controller

    day = 86_400_000
    sqlite_stores.endpoints.upsert(P, UID, {"name": UID, "first_request": T0 - 3 * day})
    write_archive(archive_url, P, UID, [event_row(T0 + MINUTE, "r1", {"x": 1.0})], tag="today")
    reads: list[int] = []

    def reader(project: str, uid: str, start: int, end: int) -> pd.DataFrame | None:
        reads.append(start)
        return read_archived_window(archive_url, project, uid, start, end)

    ground_truth, schedules = (sqlite_stores.ground_truth, sqlite_stores.schedules)
    controller = Controller(
        sqlite_stores,
        schedules,
        reader,
        [RowCount()],
        replace(MonitoringConfig.from_settings(Settings()), window_delay_seconds=60, max_windows_per_pass=10_000),
        ground_truth,
        archived_days=partial(archived_days, archive_url),
    )
    summary = controller.run_once(now=T0 + 2 * PERIOD + DELAY)
    assert summary.windows == 3 * 144 + 2 and not summary.failures
    assert all(start >= T0 - T0 % day for start in reads)  # only the day with a partition was read
    assert ends(sqlite_stores) == [T0 + PERIOD]  # the one window with an event
    assert schedules.last_analyzed(P)[("row-count", UID)] == T0 + 2 * PERIOD
