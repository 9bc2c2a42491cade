"""The controller's side of the leases, in one process on real stores: a controller whose unit was taken
over while an application was busy writes nothing for it (no results, no application error, no advance),
and the new holder analyses the window from where the schedule stands."""

from __future__ import annotations

import time
from functools import partial

from grafana_proxy.archive.reader import read_window
from grafana_proxy.model import ResultKind, ResultStatus, TimeRange
from grafana_proxy.monitoring.applications import ApplicationContext, MonitoringApplication, Output, ResultValue
from grafana_proxy.monitoring.controller import Controller
from grafana_proxy.monitoring.sharing import Sharing
from grafana_proxy.stores.base import Stores
from tests.monitoring.conftest import MINUTE, PERIOD, T0, MakeController, event_row, write_archive

P, UID = "shop", "ep1"
DELAY = 60_000
LEASE_MS = 300


class Stalls(MonitoringApplication):
    """Stalls past its controller's lease on the first window; meanwhile another controller takes over."""

    name = "stalls"

    def __init__(self, stores: Stores) -> None:
        self.stores = stores
        self.calls = 0

    def do_tracking(self, context: ApplicationContext) -> list[Output]:
        self.calls += 1
        if self.calls == 1:
            time.sleep(LEASE_MS * 1.5 / 1000)
            assert self.stores.leases.claim(P, [f"endpoint:{UID}"], "thief", 1, 60_000)
        return [ResultValue("rows", float(len(context.events)), ResultKind.mm_app_anomaly, ResultStatus.no_detection)]


def test_a_controller_that_lost_its_lease_writes_nothing(
    sqlite_stores: Stores, archive_url: str, make_controller: MakeController
) -> None:
    stores = sqlite_stores
    stores.endpoints.upsert(P, UID, {"name": UID, "first_request": T0})
    write_archive(archive_url, P, UID, [event_row(T0 + m * MINUTE + 1, f"r{m}", {"x": 1.0}) for m in range(30)])
    app = Stalls(stores)
    plain = make_controller([app])
    shared = Controller(
        stores,
        stores.schedules,
        partial(read_window, archive_url),
        [app],
        plain.config,
        sharing=Sharing(stores.leases, "slow", LEASE_MS),
    )
    summary = shared.run_once(now=T0 + 3 * PERIOD + DELAY)
    assert app.calls == 1 and not summary.failures
    assert stores.results.query(P, TimeRange(0, T0 + 10 * PERIOD)) == []
    assert stores.schedules.last_analyzed(P) == {}
    # The thief's lease ends (its process died, say): the next controller does the three windows once.
    time.sleep(0.1)
    [thief] = [lease for lease in stores.leases.leases(P) if lease.holder == "thief"]
    stores.leases.release([thief])
    again = Controller(
        stores,
        stores.schedules,
        partial(read_window, archive_url),
        [app],
        plain.config,
        sharing=Sharing(stores.leases, "next", 60_000),
    ).run_once(now=T0 + 3 * PERIOD + DELAY)
    assert again.windows == 3 and app.calls == 4
    ends = [r.end_infer_time for r in stores.results.query(P, TimeRange(0, T0 + 10 * PERIOD))]
    assert ends == [T0 + PERIOD, T0 + 2 * PERIOD, T0 + 3 * PERIOD]
    assert stores.schedules.last_analyzed(P) == {("stalls", UID): T0 + 3 * PERIOD}
