"""The monitoring controller (MLRun's application controller, reference §4.4): every ``base_period`` it
runs each enabled application on each endpoint's newly completed windows and stores what they return.

Windows are aligned to multiples of the period (epoch-based), so every process agrees on them. Per
(application, endpoint) the end of the last analysed window is kept in ``monitoring_schedules``; a pass
analyses every window after it that ended at least ``window_delay`` ago (plus the application's own
delay), oldest first, so missed windows are caught up and a restart neither skips nor repeats one.
A window's outputs are written before its schedule advances; if the process dies in between, the window
is analysed again and the writes are idempotent (results replace by key, points ignore duplicates).

Failure isolation: an application that raises, or returns something the stores refuse, is recorded as a
result ``application_error`` (status irrelevant, extra_data ``error``) and the window counts as analysed;
the other applications carry on. An unreachable archive or database stops that endpoint's pass
without advancing, so the window is retried next pass."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from grafana_proxy.clock import Clock, now_ms
from grafana_proxy.model import EndpointRecord, EndpointType, ResultKind, ResultStatus, SeriesKind
from grafana_proxy.monitoring.applications import (
    ApplicationContext,
    EndpointUpdate,
    MetricValue,
    MonitoringApplication,
    Output,
    ResultValue,
    Window,
)
from grafana_proxy.monitoring.config import MonitoringConfig
from grafana_proxy.stores.base import GroundTruthStore, ScheduleStore, Stores
from grafana_proxy.vocabulary import APPLICATION_ERROR

if TYPE_CHECKING:
    import pandas as pd

    from grafana_proxy.runtime import Runtime

log = logging.getLogger(__name__)

# (project, endpoint_uid, start_ms, end_ms) -> the window's events, or None when nothing was archived for
# it (same as an empty frame). grafana_proxy.archive.reader.read_archived_window with the archive URL bound
# is the production one: it answers None without importing pandas, so a controller role that
# only walks empty windows never loads pandas (M1 in benchmarks/RESULTS.md).
WindowReader = Callable[[str, str, int, int], "pd.DataFrame | None"]
ERROR_RESULT = APPLICATION_ERROR


@dataclass
class PassSummary:
    windows: int = 0  # (application, endpoint, window) triples analysed or skipped as empty
    empty: int = 0
    results: int = 0
    points: int = 0
    failures: list[str] = field(default_factory=list)  # "<app> <endpoint> <window end>: <error>"


class Controller:
    def __init__(
        self,
        stores: Stores,
        schedules: ScheduleStore,
        reader: WindowReader,
        applications: Sequence[MonitoringApplication],
        config: MonitoringConfig,
        ground_truth: GroundTruthStore | None = None,
        clock: Clock = now_ms,
        archived_days: Callable[[str, str], frozenset[str]] | None = None,
        on_pass: Callable[[float, list[str]], None] | None = None,
    ) -> None:
        self.stores = stores
        # (project, uid) -> dates with archived events; None = ask the reader for every window.
        self.archived_days = archived_days
        # Told (seconds, failing application names) after each pass of run_forever: /metrics.
        self.on_pass = on_pass
        self.schedules = schedules
        self.reader = reader
        self.applications = list(applications)
        self.config = config
        self.ground_truth = ground_truth
        self.clock = clock
        # Set by run_forever's caller to stop: checked between windows, so a long catch-up pass
        # doesn't hold up a shutdown (the window being analysed finishes; the rest is done next start).
        self.stopping = threading.Event()

    def run_once(self, now: int | None = None) -> PassSummary:
        """Analyse every due window of every endpoint of every project."""
        now = self.clock() if now is None else now
        summary = PassSummary()
        for project in self.stores.endpoints.projects():
            progress = self.schedules.last_analyzed(project)
            params = self.config.params_for(project)
            for record in self.stores.endpoints.records(project):
                if self.stopping.is_set():
                    return summary
                if record.monitoring_mode != "enabled" or record.endpoint_type == EndpointType.router:
                    continue
                try:
                    self._endpoint(project, record, progress, params, now, summary)
                except Exception as error:  # archive or database down: retried next pass
                    log.exception("monitoring pass of %s/%s stopped", project, record.uid)
                    summary.failures.append(f"{project}/{record.uid}: {error}")
        return summary

    def due_windows(self, record: EndpointRecord, last: int | None, horizon: int) -> list[int]:
        """Starts of the windows to analyse: after ``last`` (or from the first request), ending by
        ``horizon``, at most ``max_windows_per_pass`` of them (the rest next pass)."""
        period = self.config.period_ms
        if last is None:
            if record.first_request is None:
                return []
            last = record.first_request // period * period
        count = max(0, min((horizon - last) // period, self.config.max_windows_per_pass))
        return [last + i * period for i in range(count)]

    def _endpoint(
        self,
        project: str,
        record: EndpointRecord,
        progress: Mapping[tuple[str, str], int],
        params: Mapping[str, Any],
        now: int,
        summary: PassSummary,
    ) -> None:
        plan: dict[int, list[MonitoringApplication]] = {}
        for app in self.applications:
            horizon = now - self.config.delay_ms - app.delay_ms(params)
            for start in self.due_windows(record, progress.get((app.name, record.uid)), horizon):
                plan.setdefault(start, []).append(app)
        # End of the last empty window per application, not yet recorded: a run of empty windows (a
        # quiet endpoint, or catching up after downtime) costs one schedule write, not one per window.
        # Redoing them after a crash is harmless: they are empty.
        pending: dict[str, int] = {}
        days = None if self.archived_days is None else self.archived_days(project, record.uid)
        try:
            for start in sorted(plan):
                if self.stopping.is_set():
                    return
                if days is not None and not _touches(days, start, start + self.config.period_ms):
                    summary.windows += len(plan[start])
                    summary.empty += len(plan[start])
                    for app in plan[start]:
                        pending[app.name] = start + self.config.period_ms
                    continue
                self._window(project, record, start, plan[start], params, summary, pending)
        finally:
            for name, end in pending.items():
                self.schedules.advance(project, name, record.uid, end)

    def _window(
        self,
        project: str,
        record: EndpointRecord,
        start: int,
        applications: Sequence[MonitoringApplication],
        params: Mapping[str, Any],
        summary: PassSummary,
        pending: dict[str, int],
    ) -> None:
        """One window for the applications due on it. Its own frame so the window's events (and the stats
        cached on it) are released on return, before the next window is read, not when it is replaced."""
        end = start + self.config.period_ms
        events = self.reader(project, record.uid, start, end)
        window = Window(events, record) if events is not None and len(events) else None
        for app in applications:
            summary.windows += 1
            if window is None:
                summary.empty += 1
                pending[app.name] = end
                continue
            self._run(project, app, window, start, end, params, summary)
            pending.pop(app.name, None)
            self.schedules.advance(project, app.name, record.uid, end)

    def _run(
        self,
        project: str,
        app: MonitoringApplication,
        window: Window,
        start: int,
        end: int,
        params: Mapping[str, Any],
        summary: PassSummary,
    ) -> None:
        ctx = ApplicationContext(project, app.name, window, start, end, params, self.ground_truth)
        try:
            self._write(project, app.name, window.endpoint.uid, start, end, _checked(app.do_tracking(ctx)), summary)
        except Exception as error:  # the application's fault (or output the stores refuse): isolate it
            log.exception("monitoring application %s failed on %s/%s", app.name, project, window.endpoint.uid)
            message = f"{type(error).__name__}: {error}"
            summary.failures.append(f"{app.name} {window.endpoint.uid} {end}: {message}")
            failure = ResultValue(
                ERROR_RESULT, 0.0, ResultKind.mm_app_anomaly, ResultStatus.irrelevant, {"error": message[:2000]}
            )
            self._write(project, app.name, window.endpoint.uid, start, end, [failure], summary)

    def _write(
        self, project: str, app: str, uid: str, start: int, end: int, outputs: Sequence[Output], summary: PassSummary
    ) -> None:
        results = [o.to_app_result(uid, app, start, end) for o in outputs if isinstance(o, ResultValue)]
        points = [o.to_point(end) for o in outputs if isinstance(o, MetricValue)]
        updates: dict[str, Any] = {}
        for o in outputs:
            if isinstance(o, EndpointUpdate):
                updates.update(o.fields)
        if updates:
            self.stores.endpoints.upsert(project, uid, updates)
        if points:
            self.stores.series.write(project, uid, SeriesKind.metric, points)
        if results:
            self.stores.results.write(project, results)
        summary.results += len(results)
        summary.points += len(points)

    def _failing_applications(self, summary: PassSummary) -> list[str]:
        """Names for the failures of a pass: the application's, or "controller" for an endpoint that
        could not be analysed at all (archive or database down)."""
        names = {app.name for app in self.applications}
        return sorted({f.split(" ", 1)[0] if f.split(" ", 1)[0] in names else "controller" for f in summary.failures})

    def run_forever(self, stop: threading.Event) -> None:
        """Pass after pass until ``stop`` is set; each pass starts when the next window is due."""
        self.stopping = stop
        while not stop.is_set():
            started = self.clock()
            timer = time.perf_counter()
            try:
                failed = self._failing_applications(self.run_once(started))
            except Exception:  # e.g. the database is down: keep the loop alive, try again next period
                log.exception("monitoring pass failed")
                failed = ["controller"]
            if self.on_pass is not None:
                self.on_pass(time.perf_counter() - timer, failed)
            period = self.config.period_ms
            next_due = (started - self.config.delay_ms) // period * period + period + self.config.delay_ms
            stop.wait(max(1.0, (next_due - self.clock()) / 1000))


def _touches(days: frozenset[str], start_ms: int, end_ms: int) -> bool:
    """Whether a window's UTC days include one with archived events."""
    first, last = start_ms // 86_400_000, (max(end_ms, start_ms + 1) - 1) // 86_400_000
    return any(
        datetime.fromtimestamp(day * 86_400, tz=UTC).strftime("%Y-%m-%d") in days for day in range(first, last + 1)
    )


def _checked(outputs: Sequence[Output]) -> list[Output]:
    """Refuse what the stores cannot hold, so it is reported as the application's error."""
    checked: list[Output] = []
    for o in outputs:
        if isinstance(o, ResultValue | MetricValue):
            if not isinstance(o.value, int | float) or not math.isfinite(o.value):
                raise ValueError(f"{type(o).__name__} {o.name!r} has a non-finite value {o.value!r}")
        elif not isinstance(o, EndpointUpdate):
            raise TypeError(
                f"do_tracking returned {type(o).__name__}; expected ResultValue, MetricValue or EndpointUpdate"
            )
        checked.append(o)
    return checked


def build_controller(runtime: Runtime, on_pass: Callable[[float, list[str]], None] | None = None) -> Controller:
    """The controller as the controller role and ``grafana-proxy controller`` run it."""
    from grafana_proxy.archive.reader import archived_days, read_archived_window

    config = runtime.monitoring
    applications = runtime.applications.create(config.applications)
    stores = runtime.stores
    reader: WindowReader = partial(read_archived_window, config.archive_url)
    days = partial(archived_days, config.archive_url)
    return Controller(
        stores,
        stores.schedules,
        reader,
        applications,
        config,
        stores.ground_truth,
        clock=runtime.clock,
        archived_days=days,
        on_pass=on_pass,
    )
