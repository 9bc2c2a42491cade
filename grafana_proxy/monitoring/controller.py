"""The monitoring controller (after MLRun's model-monitoring application controller): every ``base_period`` it
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
without advancing, so the window is retried next pass.

The ingest watermark (``monitoring.watermark``) holds windows back while batches accepted before their
end plus the delay are still on their way to the archive (the JetStream event log behind a lagging
ingest): "now" for the windows is at most the acceptance time of the oldest batch not archived yet."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING

from grafana_proxy.archive.layout import BATCH_COLUMN
from grafana_proxy.clock import Clock, now_ms
from grafana_proxy.model import Batch, EndpointRecord, EndpointType, ResultKind, ResultStatus
from grafana_proxy.monitoring.applications import (
    ApplicationContext,
    EndpointUpdate,
    MonitoringApplication,
    ResultValue,
    Window,
)
from grafana_proxy.monitoring.config import MonitoringConfig
from grafana_proxy.monitoring.outputs import checked, write_outputs
from grafana_proxy.monitoring.passes import PassSummary, StatusSink
from grafana_proxy.monitoring.projects import PlannedApp, Planner, ProjectPlan
from grafana_proxy.monitoring.registry import Registry
from grafana_proxy.monitoring.sharing import (
    BATCH_UNIT,
    ENDPOINT_UNIT,
    Alone,
    Fence,
    LeaseLost,
    Sharing,
)
from grafana_proxy.monitoring.watermark import HELD_RETRY_MS, CaughtUp, IngestGate, IngestWatermark
from grafana_proxy.stores.base import GroundTruthStore, ScheduleStore, Stores
from grafana_proxy.vocabulary import APPLICATION_ERROR

if TYPE_CHECKING:
    import pandas as pd

    from grafana_proxy.archive.artifacts import ArtifactKeeper

log = logging.getLogger(__name__)

# (project, endpoint_uid, start_ms, end_ms) -> the window's events, or None when nothing was archived for
# it (same as an empty frame). grafana_proxy.archive.reader.read_archived_window with the archive URL bound
# is the production one: it answers None without importing pandas, so a controller role that
# only walks empty windows never loads pandas (M1 in benchmarks/RESULTS.md).
WindowReader = Callable[[str, str, int, int], "pd.DataFrame | None"]
# (project, endpoint_uid) -> the endpoint's kept training rows, or None (grafana_proxy.archive.reference).
ReferenceReader = Callable[[str, str], "pd.DataFrame | None"]
ERROR_RESULT = APPLICATION_ERROR


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
        planner: Planner | None = None,
        status: StatusSink | None = None,
        artifacts: ArtifactKeeper | None = None,
        reference_reader: ReferenceReader | None = None,
        artifact_retention_ms: int | None = None,
        sharing: Sharing | None = None,
        watermark: IngestWatermark | None = None,
    ) -> None:
        self.stores = stores
        # How far the ingest has archived what was accepted (None: the window delay covers its lag).
        self.ingest = IngestGate(watermark or CaughtUp())
        # How the work is shared with other controllers (leases), or not (tests, tools).
        self.sharing: Sharing | Alone = sharing or Alone(schedules, status)
        # Per-project periods and application sets (None: every project uses ``applications``).
        self.planner = planner or Planner(config, Registry({}), applications)
        self.status = status
        # Where ArtifactValue outputs go; None = applications that return artifacts fail (no storage).
        self.artifacts = artifacts
        self.reference_reader = reference_reader
        self.artifact_retention_ms = artifact_retention_ms
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
        """Analyse every due window (and submitted batch) of every endpoint of every monitored project."""
        now = self.clock() if now is None else now
        summary = PassSummary()
        ready = self.ingest.ready_until(now)  # None: unknown, so no window is due (batches still are)
        if ready is None:
            summary.failures.append(f"ingest watermark: {self.ingest.error}")
        summary.ready_until = ready
        plans = self.planner.plans(self.stores.endpoints.projects())
        for (project, name), error in self.planner.errors.items():  # set, but cannot be loaded now
            tally = summary.tally(project, name)
            tally.errors, tally.last_error = tally.errors + 1, error
            summary.failures.append(f"{name} {project}: {error}")
        for plan in plans:
            if self.stopping.is_set():
                break
            if not plan.enabled or not plan.applications:
                continue
            self._project(plan, now, ready, summary)
        self._record(summary, now)
        if self.artifacts is not None and self.artifact_retention_ms is not None:
            self.artifacts.prune(self.artifact_retention_ms)
        return summary

    def _project(self, plan: ProjectPlan, now: int, ready: int | None, summary: PassSummary) -> None:
        project = plan.project
        progress = self.schedules.last_analyzed(project)
        # The ingest's progress unknown: no window is due (the batches below still are).
        records = [] if ready is None else self.stores.endpoints.records(project)
        until = now if ready is None else ready
        due = {
            record.uid: record
            for record in records
            # A batch endpoint is analysed batch by batch, below.
            if record.monitoring_mode == "enabled"
            and record.endpoint_type not in _NOT_WINDOWED
            and self._due(plan, record, progress, until)
        }

        def endpoint(fence: Fence, unit: str) -> None:
            record = due[unit.removeprefix(ENDPOINT_UNIT)]
            # Shared: the progress as it is now that the unit is ours (its last holder may have advanced it).
            fresh = progress if self.sharing.alone else self.schedules.last_analyzed(project, record.uid)
            with self._isolated(summary, f"{project}/{record.uid}"):
                self._endpoint(plan, record, self._due(plan, record, fresh, until), now, summary, fence)

        self.sharing.share(project, [ENDPOINT_UNIT + uid for uid in due], endpoint, self.stopping)
        if self.status is not None:
            self._batches(plan, now, summary, self.status)

    def _batches(self, plan: ProjectPlan, now: int, summary: PassSummary, status: StatusSink) -> None:
        project = plan.project
        progress = self.schedules.last_analyzed(project)  # as the period windows above left it
        # Not before the delay: its rows may still be on their way to the archive.
        ready = [
            b.batch_id
            for b in status.batches(project, pending_only=True)
            if b.submitted_at + self.config.delay_ms <= now
        ]

        def batch(fence: Fence, unit: str) -> None:
            found = status.batch(project, unit.removeprefix(BATCH_UNIT))
            if found is None or found.analysed_at is not None:  # another controller finished it meanwhile
                return
            fresh = progress if self.sharing.alone else self.schedules.last_analyzed(project, found.endpoint_uid)
            with self._isolated(summary, f"{project}/{found.endpoint_uid}"):
                self._batch(plan, found, fresh, now, summary, fence)

        self.sharing.share(project, [BATCH_UNIT + b for b in ready], batch, self.stopping)

    @contextmanager
    def _isolated(self, summary: PassSummary, where: str) -> Iterator[None]:
        """An outage (archive or database down) stops this unit only; it is retried next pass."""
        try:
            yield
        except LeaseLost:
            raise
        except Exception as error:
            log.exception("monitoring of %s stopped", where)
            summary.failures.append(f"{where}: {error}")

    def _batch(
        self,
        plan: ProjectPlan,
        batch: Batch,
        progress: Mapping[tuple[str, str], int],
        now: int,
        summary: PassSummary,
        fence: Fence,
    ) -> None:
        """A submitted batch is one window of its own, ``[start_ms, end_ms)``, whatever the period. Its
        results are stored; the record's current state (drift status, current stats) is updated only when
        the batch is not older than the newest period window the application analysed there."""
        record = self.stores.endpoints.get(plan.project, batch.endpoint_uid)
        if record is not None:
            apps = [a for a in plan.applications if a.covers(record.uid)]
            events = self.reader(plan.project, record.uid, batch.start_ms, batch.end_ms)
            if events is not None and BATCH_COLUMN in events.columns:
                events = events[events[BATCH_COLUMN] == batch.batch_id]
            if apps and events is not None and len(events):
                window = Window(events, record)
                for app in apps:
                    summary.windows += 1
                    newest = progress.get((app.name, record.uid))
                    current = newest is None or batch.end_ms >= newest
                    self._run(plan.project, app, window, batch.start_ms, batch.end_ms, summary, fence, current)
        fence.finish_batch(plan.project, batch.batch_id, now)
        summary.batches += 1

    def due_windows(
        self, record: EndpointRecord, last: int | None, horizon: int, period: int | None = None
    ) -> list[int]:
        """Starts of the windows to analyse: after ``last`` (or from the first request), ending by
        ``horizon``, at most ``max_windows_per_pass`` of them (the rest next pass). A window ends at the
        next multiple of the period after its start, so after a change of period the first window is
        shorter (from the last analysed end to the new grid) and none is lost or analysed twice."""
        period = period or self.config.period_ms
        if last is None:
            if record.first_request is None:
                return []
            last = record.first_request // period * period
        starts: list[int] = []
        start = last
        while len(starts) < self.config.max_windows_per_pass and window_end(start, period) <= horizon:
            starts.append(start)
            start = window_end(start, period)
        return starts

    def _due(
        self, plan: ProjectPlan, record: EndpointRecord, progress: Mapping[tuple[str, str], int], now: int
    ) -> dict[int, list[PlannedApp]]:
        """Window start -> the applications due on that window of the endpoint (``now`` as far as the
        ingest has got)."""
        due: dict[int, list[PlannedApp]] = {}
        for app in plan.applications:
            if not app.covers(record.uid):
                continue
            horizon = now - self.config.delay_ms - app.app.delay_ms(app.params)
            for start in self.due_windows(record, progress.get((app.name, record.uid)), horizon, plan.period_ms):
                due.setdefault(start, []).append(app)
        return due

    def _endpoint(
        self,
        plan: ProjectPlan,
        record: EndpointRecord,
        due: Mapping[int, list[PlannedApp]],
        now: int,
        summary: PassSummary,
        fence: Fence,
    ) -> None:
        project, period = plan.project, plan.period_ms
        # End of the last empty window per application, not yet recorded: a run of empty windows (a
        # quiet endpoint, or catching up after downtime) costs one schedule write, not one per window.
        # Redoing them after a crash is harmless: they are empty.
        pending: dict[str, int] = {}
        days = None if self.archived_days is None else self.archived_days(project, record.uid)
        try:
            for start in sorted(due):
                if self.stopping.is_set():
                    return
                end = window_end(start, period)
                if days is not None and not _touches(days, start, end):
                    summary.windows += len(due[start])
                    summary.empty += len(due[start])
                    for app in due[start]:
                        pending[app.name] = end
                        summary.tally(project, app.name).last_window_end = end
                    continue
                fence.keep()  # before reading a window that may take a while
                self._window(project, record, start, end, due[start], summary, pending, fence)
        finally:
            for name, end in pending.items():
                fence.advance(project, name, record.uid, end)

    def _window(
        self,
        project: str,
        record: EndpointRecord,
        start: int,
        end: int,
        applications: Sequence[PlannedApp],
        summary: PassSummary,
        pending: dict[str, int],
        fence: Fence,
    ) -> None:
        """One window for the applications due on it. Its own frame so the window's events (and the stats
        cached on it) are released on return, before the next window is read, not when it is replaced."""
        events = self.reader(project, record.uid, start, end)
        if events is not None and BATCH_COLUMN in events.columns:
            events = events[events[BATCH_COLUMN].isna()]  # batches are analysed batch by batch
        loader = None if self.reference_reader is None else partial(self.reference_reader, project, record.uid)
        window = Window(events, record, loader) if events is not None and len(events) else None
        for app in applications:
            summary.windows += 1
            summary.tally(project, app.name).last_window_end = end
            if window is None:
                summary.empty += 1
                pending[app.name] = end
                continue
            self._run(project, app, window, start, end, summary, fence)
            pending.pop(app.name, None)
            fence.advance(project, app.name, record.uid, end)

    def _run(
        self,
        project: str,
        app: PlannedApp,
        window: Window,
        start: int,
        end: int,
        summary: PassSummary,
        fence: Fence,
        update_record: bool = True,
    ) -> None:
        ctx = ApplicationContext(project, app.name, window, start, end, app.params, self.ground_truth)
        tally = summary.tally(project, app.name)
        tally.windows += 1
        try:
            outputs = checked(app.app.do_tracking(ctx))
            if not update_record:
                outputs = [o for o in outputs if not isinstance(o, EndpointUpdate)]
            fence.keep()  # the application may have taken long: write only while the unit is still ours
            results, points, files = write_outputs(
                self.stores, self.artifacts, project, app.name, window.endpoint.uid, start, end, outputs
            )
            tally.results += results
            summary.results += results
            summary.points += points
            summary.artifacts += files
        except LeaseLost:
            raise
        except Exception as error:  # the application's fault (or output the stores refuse): isolate it
            log.exception("monitoring application %s failed on %s/%s", app.name, project, window.endpoint.uid)
            message = f"{type(error).__name__}: {error}"
            summary.failures.append(f"{app.name} {window.endpoint.uid} {end}: {message}")
            tally.errors += 1
            tally.last_error = message
            failure = ResultValue(
                ERROR_RESULT, 0.0, ResultKind.mm_app_anomaly, ResultStatus.irrelevant, {"error": message[:2000]}
            )
            fence.keep()
            write_outputs(self.stores, self.artifacts, project, app.name, window.endpoint.uid, start, end, [failure])

    def _record(self, summary: PassSummary, now: int) -> None:
        """Each application's share of the pass, as its status (last run, counts, last error)."""
        if self.status is None:
            return
        for (project, name), tally in summary.applications.items():
            if not tally.windows and not tally.errors and tally.last_window_end is None:
                continue
            try:
                t = tally
                self.status.record_run(
                    project, name, now, t.windows, t.results, t.errors, t.last_window_end, t.last_error
                )
            except Exception:  # status is informative; the analysis itself is stored
                log.exception("could not record the status of %s/%s", project, name)

    def _failing_applications(self, summary: PassSummary) -> list[str]:
        """Names for the failures of a pass: the application's, or "controller" for an endpoint that
        could not be analysed at all (archive or database down)."""
        names = {name for _, name in summary.applications} | {app.name for app in self.applications}
        return sorted({f.split(" ", 1)[0] if f.split(" ", 1)[0] in names else "controller" for f in summary.failures})

    def run_forever(self, stop: threading.Event) -> None:
        """Pass after pass until ``stop`` is set; each pass starts when a window (or batch) is due. The
        settings are looked at every minute meanwhile, so a shortened period or a new batch is not kept
        waiting for the old schedule (a look is two small queries; a pass reads every endpoint)."""
        self.stopping = stop
        while not stop.is_set():
            started = self.clock()
            timer = time.perf_counter()
            ready: int | None = started
            try:
                summary = self.run_once(started)
                failed, ready = self._failing_applications(summary), summary.ready_until
            except Exception:  # e.g. the database is down: keep the loop alive, try again next period
                log.exception("monitoring pass failed")
                failed = ["controller"]
            if self.on_pass is not None:
                self.on_pass(time.perf_counter() - timer, failed)
            while not stop.is_set() and (wait := self._next_due(started, ready) - self.clock()) > 0:
                stop.wait(min(60.0, max(1.0, wait / 1000)))

    def _next_due(self, started: int, ready: int | None) -> int:
        """When the next window of any project (or a submitted batch) is due after a pass at ``started``
        that could treat ``ready`` as now (the ingest watermark; None: unknown)."""
        delay = self.config.delay_ms
        try:
            periods = {p.period_ms for p in self.planner.plans([]) if p.enabled} | {self.config.period_ms}
            batches = self.status.pending_batches() if self.status is not None else []
        except Exception:  # the database is down: the pass will say so
            periods, batches = {self.config.period_ms}, []
        due = min(window_end(started - delay, p) + delay for p in periods)
        # Windows the watermark held back (one ends between it and the pass's now), or no watermark at all:
        # they are due as soon as the ingest catches up, so look again soon rather than a period later.
        if ready is None or any(window_end(ready - delay, p) <= started - delay for p in periods):
            due = min(due, started + HELD_RETRY_MS)
        # A batch stuck behind an outage is retried every 10 s at most, not in a tight loop.
        return min([due, *(max(submitted + delay, started + 10_000) for submitted in batches)])


# Routers are not models; a batch endpoint is analysed batch by batch, not window by window.
_NOT_WINDOWED = (EndpointType.router, EndpointType.batch_ep)


def window_end(start: int, period: int) -> int:
    """The end of the window starting at ``start``: the next multiple of ``period`` after it."""
    return (start // period + 1) * period


def _touches(days: frozenset[str], start_ms: int, end_ms: int) -> bool:
    """Whether a window's UTC days include one with archived events."""
    first, last = start_ms // 86_400_000, (max(end_ms, start_ms + 1) - 1) // 86_400_000
    return any(
        datetime.fromtimestamp(day * 86_400, tz=UTC).strftime("%Y-%m-%d") in days for day in range(first, last + 1)
    )
