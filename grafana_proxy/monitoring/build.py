"""The controller as the controller role and ``grafana-proxy controller`` run it: the archive readers,
per-project plans, status, artifacts, the leases it shares the work through with other controllers and
the ingest watermark of the event log."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from grafana_proxy.monitoring.controller import Controller, WindowReader
from grafana_proxy.monitoring.projects import Planner
from grafana_proxy.monitoring.sharing import Sharing, controller_id
from grafana_proxy.monitoring.watermark import CaughtUp, IngestWatermark

if TYPE_CHECKING:
    from grafana_proxy.runtime import Runtime


def build_controller(runtime: Runtime, on_pass: Callable[[float, list[str]], None] | None = None) -> Controller:
    """The controller as the controller role and ``grafana-proxy controller`` run it."""
    from grafana_proxy.archive.reader import archived_days, read_archived_window
    from grafana_proxy.archive.reference import read_reference

    config = runtime.monitoring
    registry = runtime.applications
    applications = registry.create(config.applications)
    stores = runtime.stores
    reader: WindowReader = partial(read_archived_window, config.archive_url)
    days = partial(archived_days, config.archive_url)
    project_settings = stores.monitoring
    planner = Planner(config, registry, applications, project_settings)
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
        planner=planner,
        status=project_settings,
        artifacts=runtime.artifacts,
        reference_reader=partial(read_reference, config.archive_url),
        artifact_retention_ms=runtime.settings.artifact_retention_ms(),
        sharing=Sharing(stores.leases, controller_id(), int(runtime.settings.controller_lease_seconds * 1000)),
        watermark=ingest_watermark(runtime),
    )


def ingest_watermark(runtime: Runtime) -> IngestWatermark:
    """The JetStream stream's oldest batch not archived yet when ``stream_url`` is set; else the window
    delay alone (the embedded spool)."""
    if not runtime.stream.enabled:
        return CaughtUp()
    from grafana_proxy.stream.watermark import JetStreamWatermark  # loads nats-py: stream mode only

    return JetStreamWatermark(runtime.stream)
