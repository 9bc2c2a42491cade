"""The per-project monitoring store on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from grafana_proxy.model import ApplicationConfig, Batch, ProjectMonitoring
from grafana_proxy.stores.base import Stores


def test_settings_applications_status_and_batches_round_trip(stores: Stores) -> None:
    store = stores.monitoring
    assert store.project("p") is None and store.projects() == {}
    default = ApplicationConfig("p", "histogram-data-drift", "histogram-data-drift", {}, None, 1)
    assert store.put_project(ProjectMonitoring("p", True, 2.5, 1), [default]) is True
    assert store.put_project(ProjectMonitoring("p", False, 3, 2), [default]) is False
    assert store.project("p") == ProjectMonitoring("p", False, 3.0, 2)
    custom = ApplicationConfig("p", "Drift", "pkg.mod:App", {"k": [1, "a"], "t": 0.5}, ("ep1", "ep2"), 3)
    store.put_application(custom)
    assert store.applications("p") == [custom, default]  # case-sensitive names, sorted
    assert store.application("p", "drift") is None
    store.record_run("p", "Drift", 10, 3, 2, 1, 500, "ValueError: x")
    store.record_run("p", "Drift", 20, 1, 1, 0, None, None)
    status = store.statuses("p")["Drift"]
    assert (status.last_run, status.windows, status.results, status.errors) == (20, 4, 3, 1)
    assert status.last_error == "ValueError: x" and status.last_error_at == 10 and status.last_window_end == 500
    assert store.delete_application("p", "Drift") and not store.delete_application("p", "Drift")
    batch = Batch("p", "b1", "ep1", 100, 200, 7, 150)
    store.add_batch(batch)
    assert store.batches("p", pending_only=True) == [batch]
    store.mark_analysed("p", "b1", 300)
    assert store.batches("p", pending_only=True) == [] and store.batch("p", "b1") == Batch(
        "p", "b1", "ep1", 100, 200, 7, 150, 300
    )


def test_status_of_several_controllers_adds_up_and_keeps_the_newest_window(stores: Stores) -> None:
    store = stores.monitoring
    store.record_run("p", "app", 10, 3, 3, 0, 900, None)
    store.record_run("p", "app", 11, 2, 1, 1, 600, "ValueError: y")  # another controller, older endpoints
    status = store.statuses("p")["app"]
    assert (status.windows, status.results, status.errors) == (5, 4, 1)
    assert status.last_window_end == 900 and status.last_run == 11 and status.last_error == "ValueError: y"
