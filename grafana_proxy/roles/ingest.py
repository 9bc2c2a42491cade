"""The ingest role: folds what the api role's workers and the gateways accepted (their inboxes) into
the stores — endpoint records, stream-window series, feature samples — and writes the Parquet archive;
reads the uploads (batches, training rows) the api role staged (``ingest.uploads``)."""

from __future__ import annotations

import logging
import threading

from grafana_proxy.ingest.pipeline import IngestPipeline, SpoolLocked
from grafana_proxy.ingest.uploads import UploadReader
from grafana_proxy.observability.status import status_path, write_status
from grafana_proxy.roles import CannotStart
from grafana_proxy.runtime import Runtime

log = logging.getLogger(__name__)
STATUS_SECONDS = 2.0


def open_ingest(runtime: Runtime) -> IngestPipeline:
    """The role's pipeline; ``CannotStart`` when another process already folds this spool."""
    try:
        return IngestPipeline(runtime.ingest, runtime.stores, clock=runtime.clock)
    except SpoolLocked as error:
        raise CannotStart(f"{error}: stop the other grafana-proxy ingest (or serve) using it first") from None


def run_ingest(runtime: Runtime, stop: threading.Event) -> None:
    """Fold until ``stop`` is set, then fold what is left and flush the archive. With ``stream_url`` set,
    consume the JetStream stream instead (several such processes may run at once, on several machines).
    Either way, read the uploads the api role staged."""
    uploads = UploadReader(runtime.ingest, runtime.stores, runtime.settings.data_dir / "batches")
    uploads.start()
    try:
        if runtime.stream.enabled:
            run_stream_ingest(runtime, stop)
        else:
            run_spool_ingest(runtime, stop)
    finally:
        uploads.stop()


def run_spool_ingest(runtime: Runtime, stop: threading.Event) -> None:
    """The one process folding the spool directory's inboxes."""
    pipeline = open_ingest(runtime)
    status = status_path(runtime.ingest.spool_dir, "ingest")
    pipeline.start()
    log.info("ingest: folding %s into the stores", runtime.ingest.spool_dir)
    try:
        while not stop.wait(STATUS_SECONDS):
            write_status(status, _status(pipeline))
    finally:
        pipeline.stop()
        write_status(status, _status(pipeline))


def _status(pipeline: IngestPipeline) -> dict[str, int]:
    """What the api role's /metrics reports of this process."""
    return {"backlog_records": pipeline.backlog_records(), "dead_lettered_total": pipeline.dead_lettered()}


def run_stream_ingest(runtime: Runtime, stop: threading.Event) -> None:
    """One of the stream's ingest workers; its status file is its own (several workers share a data dir)."""
    from grafana_proxy.stream.consumer import StreamWorker

    worker = StreamWorker(
        runtime.stream,
        runtime.ingest,
        runtime.stores,
        status_path(runtime.ingest.spool_dir, "ingest").parent,
        runtime.clock,
    )
    log.info("ingest: consuming JetStream stream %s at %s", runtime.stream.stream_name, runtime.stream.stream_url)
    worker.run(stop)
