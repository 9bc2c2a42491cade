"""The controller with per-project settings from the database: each project's base period and
application set, checked window by window; a period change mid-stream; disabling; application status."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

from grafana_proxy.archive.reader import read_window
from grafana_proxy.model import ApplicationConfig, Batch, ProjectMonitoring, TimeRange
from grafana_proxy.monitoring.config import MonitoringConfig
from grafana_proxy.monitoring.controller import Controller
from grafana_proxy.monitoring.projects import Planner
from grafana_proxy.monitoring.registry import discover
from grafana_proxy.monitoring.watermark import HELD_RETRY_MS
from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Stores
from grafana_proxy.stores.monitoring import SqlMonitoringStore
from tests.monitoring.conftest import MINUTE, T0, event_row, write_archive

SAMPLE = "tests.monitoring.sample_apps"
DELAY = 60_000


def seed(stores: Stores, archive_url: str, project: str, uid: str, minutes: range) -> None:
    stores.endpoints.upsert(project, uid, {"name": uid, "first_request": T0 + minutes[0] * MINUTE})
    rows = [event_row(T0 + m * MINUTE + 1, f"{project}-{uid}-{m}", {"x": float(m)}) for m in minutes]
    write_archive(archive_url, project, uid, rows, tag=f"{uid}-{minutes[0]}")


def controller(stores: Stores, archive_url: str) -> Controller:
    """What build_controller makes, with the test applications importable by path."""
    config = replace(MonitoringConfig.from_settings(Settings()), window_delay_seconds=DELAY / 1000, applications=())
    store = stores.monitoring
    ground_truth, schedules = (stores.ground_truth, stores.schedules)
    planner = Planner(config, discover([f"{SAMPLE}:RowCount"], include_entry_points=False), [], store)
    reader = partial(read_window, archive_url)
    return Controller(stores, schedules, reader, [], config, ground_truth, planner=planner, status=store)


def configure(store: SqlMonitoringStore, project: str, period: float, apps: dict[str, tuple[str, ...] | None]) -> None:
    store.put_project(ProjectMonitoring(project, True, period, 0))
    for name, endpoints in apps.items():
        store.put_application(ApplicationConfig(project, name, "row-count", {}, endpoints, 0))


def windows(stores: Stores, project: str, application: str, uid: str) -> list[tuple[int, int, float]]:
    """(start minute, end minute, rows) of each analysed window, relative to T0."""
    results = stores.results.query(project, TimeRange(0, T0 + 10**9), [uid], application, ["rows"])
    return [((r.start_infer_time - T0) // MINUTE, (r.end_infer_time - T0) // MINUTE, r.value) for r in results]


def test_two_projects_keep_their_own_period_and_applications(sqlite_stores: Stores, archive_url: str) -> None:
    store = sqlite_stores.monitoring
    for project in ("fast", "slow"):
        for uid in ("ep1", "ep2"):
            seed(sqlite_stores, archive_url, project, uid, range(0, 30))
    configure(store, "fast", 2, {"rows-a": None})
    configure(store, "slow", 5, {"rows-b": ("ep1",), "rows-c": None})
    summary = controller(sqlite_stores, archive_url).run_once(now=T0 + 10 * MINUTE + DELAY)
    assert not summary.failures
    two = [(m, m + 2, 2.0) for m in range(0, 10, 2)]
    five = [(0, 5, 5.0), (5, 10, 5.0)]
    assert windows(sqlite_stores, "fast", "rows-a", "ep1") == two
    assert windows(sqlite_stores, "fast", "rows-a", "ep2") == two
    assert windows(sqlite_stores, "slow", "rows-b", "ep1") == five
    assert windows(sqlite_stores, "slow", "rows-b", "ep2") == []  # rows-b runs on ep1 only
    assert windows(sqlite_stores, "slow", "rows-c", "ep2") == five
    assert sqlite_stores.results.applications("fast") == ["rows-a"]  # no other application ran there
    status = store.statuses("slow")
    assert status["rows-b"].windows == 2 and status["rows-c"].windows == 4
    assert status["rows-c"].results == 4 and status["rows-c"].last_window_end == T0 + 10 * MINUTE
    assert status["rows-c"].last_run == T0 + 10 * MINUTE + DELAY and status["rows-c"].errors == 0


def test_a_new_period_applies_from_the_next_window_with_nothing_lost_or_repeated(
    sqlite_stores: Stores, archive_url: str
) -> None:
    store = sqlite_stores.monitoring
    seed(sqlite_stores, archive_url, "p", "ep1", range(0, 30))
    configure(store, "p", 2, {"rows": None})
    ctl = controller(sqlite_stores, archive_url)
    ctl.run_once(now=T0 + 4 * MINUTE + DELAY)
    assert windows(sqlite_stores, "p", "rows", "ep1") == [(0, 2, 2.0), (2, 4, 2.0)]
    store.put_project(ProjectMonitoring("p", True, 5, 1))  # the same controller, no restart
    ctl.run_once(now=T0 + 13 * MINUTE + DELAY)
    analysed = windows(sqlite_stores, "p", "rows", "ep1")
    # The window after the last analysed one runs to the new grid, then whole 5-minute windows follow.
    assert analysed == [(0, 2, 2.0), (2, 4, 2.0), (4, 5, 1.0), (5, 10, 5.0)]
    assert sum(rows for _, _, rows in analysed) == 10  # minutes 0..9, each exactly once


def test_disabling_stops_the_project_and_keeps_its_data(sqlite_stores: Stores, archive_url: str) -> None:
    store = sqlite_stores.monitoring
    seed(sqlite_stores, archive_url, "p", "ep1", range(0, 30))
    seed(sqlite_stores, archive_url, "q", "ep1", range(0, 30))
    configure(store, "p", 5, {"rows": None})
    configure(store, "q", 5, {"rows": None})
    ctl = controller(sqlite_stores, archive_url)
    ctl.run_once(now=T0 + 5 * MINUTE + DELAY)
    store.put_project(ProjectMonitoring("p", False, 5, 1))
    ctl.run_once(now=T0 + 15 * MINUTE + DELAY)
    assert windows(sqlite_stores, "p", "rows", "ep1") == [(0, 5, 5.0)]  # kept, not extended
    assert len(windows(sqlite_stores, "q", "rows", "ep1")) == 3
    store.put_project(ProjectMonitoring("p", True, 5, 2))
    ctl.run_once(now=T0 + 15 * MINUTE + DELAY)
    assert len(windows(sqlite_stores, "p", "rows", "ep1")) == 3  # re-enabled: resumes where it stopped


def test_removed_application_stops_and_failures_are_in_its_status(sqlite_stores: Stores, archive_url: str) -> None:
    store = sqlite_stores.monitoring
    seed(sqlite_stores, archive_url, "p", "ep1", range(0, 30))
    configure(store, "p", 5, {"rows": None})
    store.put_application(ApplicationConfig("p", "broken", f"{SAMPLE}:Broken", {}, None, 0))
    ctl = controller(sqlite_stores, archive_url)
    ctl.run_once(now=T0 + 5 * MINUTE + DELAY)
    broken = store.statuses("p")["broken"]
    assert broken.errors == 1 and broken.last_error == "RuntimeError: model registry unreachable"
    assert store.delete_application("p", "rows")
    ctl.run_once(now=T0 + 10 * MINUTE + DELAY)
    assert windows(sqlite_stores, "p", "rows", "ep1") == [(0, 5, 5.0)]
    assert store.statuses("p")["broken"].errors == 2


def test_an_application_that_can_no_longer_be_loaded_is_reported_and_the_others_run(
    sqlite_stores: Stores, archive_url: str
) -> None:
    store = sqlite_stores.monitoring
    seed(sqlite_stores, archive_url, "p", "ep1", range(0, 10))
    configure(store, "p", 5, {"rows": None})
    # Set while its package was installed (the API checks it then); uninstalled since.
    store.put_application(ApplicationConfig("p", "gone", "uninstalled_pkg.apps:Gone", {}, None, 0))
    summary = controller(sqlite_stores, archive_url).run_once(now=T0 + 5 * MINUTE + DELAY)
    assert windows(sqlite_stores, "p", "rows", "ep1") == [(0, 5, 5.0)]
    gone = store.statuses("p")["gone"]
    assert (
        gone.errors == 1 and gone.last_error is not None and "cannot import 'uninstalled_pkg.apps'" in gone.last_error
    )
    assert any("gone" in f for f in summary.failures)


def test_the_next_pass_is_due_at_the_earliest_window_of_any_project_or_a_pending_batch(
    sqlite_stores: Stores, archive_url: str
) -> None:
    store = sqlite_stores.monitoring
    ctl = controller(sqlite_stores, archive_url)  # global period 10 minutes, window delay 1 minute
    started = T0 + 2 * MINUTE + DELAY
    assert ctl._next_due(started, started) == T0 + 10 * MINUTE + DELAY
    configure(store, "p", 1, {"rows": None})  # a project every minute: the next pass is a minute away
    assert ctl._next_due(started, started) == T0 + 3 * MINUTE + DELAY
    store.put_project(ProjectMonitoring("p", False, 1, 1))  # disabled: back to the global period
    assert ctl._next_due(started, started) == T0 + 10 * MINUTE + DELAY
    store.add_batch(Batch("p", "b", "ep1", T0, T0 + 1, 1, submitted_at=started))
    assert ctl._next_due(started, started) == started + DELAY  # a submitted batch does not wait for the next window
    store.mark_analysed("p", "b", started)
    assert ctl._next_due(started, started) == T0 + 10 * MINUTE + DELAY
    # The ingest watermark held back a window that the clock made due (ending at T0): look again soon.
    assert ctl._next_due(started, T0 - MINUTE) == started + HELD_RETRY_MS
    assert ctl._next_due(started, None) == started + HELD_RETRY_MS  # the watermark unknown
    # Held back, but no window ends between the watermark and now: nothing to look for before the next one.
    assert ctl._next_due(started, T0 + MINUTE) == T0 + 10 * MINUTE + DELAY
