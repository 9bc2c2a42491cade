"""The composition root: a ``Runtime`` is built once per process from ``Settings`` and holds everything
the process needs — the stores, the typed configs of each part, the registries, metrics and the clock.
Every entry point (``create_app``, the ingest worker, the controller, the gateway, the demo) takes one;
nothing else reads settings into configs or opens stores.

Parts only some roles use are built on first use: the archive config (the archive package loads
fsspec), the monitoring config and the application registry (numpy and the applications), which the
api role never needs: it must stay lean."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from grafana_proxy.clock import Clock, now_ms
from grafana_proxy.gateway.config import GatewayConfig
from grafana_proxy.ingest.config import IngestConfig
from grafana_proxy.ingest.inbox import EventSink, InboxWriter, OwnedSink
from grafana_proxy.observability.models import ModelMetrics
from grafana_proxy.observability.service import ServiceMetrics
from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Stores
from grafana_proxy.stream.config import StreamConfig
from grafana_proxy.targets.registry import TargetRegistry, load_registry

if TYPE_CHECKING:
    from grafana_proxy.archive.artifacts import ArtifactKeeper
    from grafana_proxy.archive.config import ArchiveConfig
    from grafana_proxy.auth import KeyVerifier
    from grafana_proxy.monitoring.config import MonitoringConfig
    from grafana_proxy.monitoring.registry import Registry as ApplicationRegistry


@dataclass(eq=False)
class Runtime:
    settings: Settings
    stores: Stores
    ingest: IngestConfig
    gateway: GatewayConfig
    targets: TargetRegistry
    metrics: ServiceMetrics
    model_metrics: ModelMetrics
    clock: Clock = now_ms
    # Where the events API puts accepted batches: the api role's inbox writer (or, in tests that fold in
    # the same process, the ingest pipeline). Set by whoever starts accepting events; None = not accepting.
    events: EventSink | None = None
    owns_stores: bool = field(default=False, repr=False)

    @classmethod
    def build(cls, settings: Settings, stores: Stores | None = None, clock: Clock = now_ms) -> Runtime:
        """The runtime of one process. Opens (and later closes) the stores unless given them; raises
        ``StoreUnavailable`` when the database cannot be reached."""
        owns = stores is None
        if stores is None:
            from grafana_proxy.stores.engine import open_stores

            stores = open_stores(settings)
        return cls(
            settings=settings,
            stores=stores,
            ingest=IngestConfig.from_settings(settings),
            gateway=GatewayConfig.from_settings(settings),
            targets=load_registry(),
            metrics=ServiceMetrics(),
            model_metrics=ModelMetrics(stores),
            clock=clock,
            owns_stores=owns,
        )

    @cached_property
    def stream(self) -> StreamConfig:
        """The event log on NATS JetStream (``enabled`` False: the embedded spool)."""
        return StreamConfig.from_settings(self.settings)

    def open_event_sink(self, name: str) -> OwnedSink:
        """Where this process puts the events it accepts (the api role, a gateway): a JetStream
        publisher when ``stream_url`` is set (connecting in the background: NATS down at start only makes
        publishing fail until it is back), else an inbox of its own in the spool directory. Blocking."""
        if self.stream.enabled:
            from grafana_proxy.stream.publisher import JetStreamSink  # loads nats-py: stream mode only

            sink = JetStreamSink(self.stream, name)
            sink.start()
            return sink
        return InboxWriter(self.ingest.spool_dir, self.ingest.spool_segment_bytes, name)

    @cached_property
    def key_verifier(self) -> KeyVerifier:
        """Access keys checked against the key store, with a short cache (the api role)."""
        from grafana_proxy.auth import KeyVerifier

        return KeyVerifier(self.stores.keys)

    @cached_property
    def archive(self) -> ArchiveConfig:
        """Where the Parquet archive lives (the ingest role writes it, the controller reads it)."""
        from grafana_proxy.archive.config import ArchiveConfig

        return ArchiveConfig.from_settings(self.settings)

    @cached_property
    def artifacts(self) -> ArtifactKeeper:
        """Files monitoring applications keep, in the archive storage (the controller writes, the api reads)."""
        from grafana_proxy.archive.artifacts import ArtifactKeeper

        return ArtifactKeeper(self.archive.archive_url, self.stores.artifacts, clock=self.clock)

    @cached_property
    def monitoring(self) -> MonitoringConfig:
        from grafana_proxy.monitoring.config import MonitoringConfig

        return MonitoringConfig.from_settings(self.settings, self.archive)

    @cached_property
    def applications(self) -> ApplicationRegistry:
        """Built-in, entry-point and configured user applications (``monitoring_application_paths``)."""
        from grafana_proxy.monitoring.registry import discover

        return discover(self.monitoring.application_paths)

    def close(self) -> None:
        """Release what ``build`` opened (the stores it opened itself)."""
        if self.owns_stores:
            self.stores.close()
