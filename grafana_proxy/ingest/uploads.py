"""The ingest role's reader of uploads: batches and training rows the api role staged in the archive
storage. One upload at a time per process: claim the oldest waiting one (``stores.uploads``), read it with
the batch and reference code, record done (with what was stored) or failed (with the one-line reason the
client shows), delete the staged file.

Several ingest processes, on one machine or many, share the queue through the database; the staged
files are in the archive storage they all reach. A process that dies while reading an upload stops
renewing its claim, and another claims it once the lease has run out: a batch's rows are named by its
batch id, so reading it again replaces them instead of doubling them. An upload whose reading failed
for another reason than the file (a bug, the storage) is tried ``ingest_max_attempts`` times, then
reported failed."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grafana_proxy.archive.staging import StagedFileMissing, local_copy, remove_staged
from grafana_proxy.batch.reader import BadBatch, BatchFormat
from grafana_proxy.clock import now_ms
from grafana_proxy.ingest.config import IngestConfig
from grafana_proxy.model import Upload, UploadKind
from grafana_proxy.stores.base import Stores, StoreUnavailable

log = logging.getLogger(__name__)

LEASE_MS = 60_000  # a claim not renewed for this long is taken over; renewed every third of it
IDLE_SECONDS = 0.5  # between looks at the queue when it is empty
KEEP_FINISHED_MS = 7 * 86_400_000  # how long a finished upload's status stays readable
_PRUNE_EVERY_S = 3600.0


class BadUpload(ValueError):
    """The uploaded file cannot become what it was sent as; the message names the fix."""


class ClaimLost(Exception):
    """Another process took the upload over (this one was too slow to renew its claim): stop reading."""


def _batch(upload: Upload, path: Path, config: IngestConfig, stores: Stores, renew: Callable[[], None]) -> Any:
    from grafana_proxy.batch.ingest import BatchSpec, BatchWriter, ingest_file

    params = upload.params
    spec_args = dict(params.get("spec") or {})
    spec = BatchSpec(
        predictions=tuple(spec_args.get("predictions") or ("prediction",)),
        label=spec_args.get("label"),
        timestamp=spec_args.get("timestamp"),
        time=spec_args.get("time"),
        features=None if spec_args.get("features") is None else tuple(spec_args["features"]),
    )
    writer = BatchWriter(
        stores,
        stores.ground_truth,
        stores.monitoring,
        config.archive_url,
        upload.project,
        upload.endpoint_uid,
        str(params["batch_id"]),
        spec,
        upload.created_at,  # rows without a time are at the submission time, whichever attempt reads them
        config.sample_window,
    )
    report = ingest_file(writer, path, BatchFormat(upload.fmt), params.get("record_fields"), lambda _rows: renew())
    return report.to_json()


def _reference_rows(upload: Upload, path: Path, config: IngestConfig) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from grafana_proxy.archive.reference import write_reference

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as error:
        raise BadUpload(f"the body is not a Parquet file: {error}") from None
    if table.num_rows == 0 or table.num_columns == 0:
        raise BadUpload("the Parquet file has no rows or no columns")
    frame = table.to_pandas()
    kept = write_reference(config.archive_url, upload.project, upload.endpoint_uid, frame)
    return {
        "project": upload.project,
        "endpoint_id": upload.endpoint_uid,
        "rows_kept": kept,
        "columns": [str(c) for c in frame.columns],
    }


class UploadReader:
    """Claims and reads uploads until stopped (``run``), or one at a time (``run_once``, tests)."""

    def __init__(
        self,
        config: IngestConfig,
        stores: Stores,
        scratch: Path,
        clock: Callable[[], int] = now_ms,
        lease_ms: int = LEASE_MS,
    ) -> None:
        self.config, self.stores, self.scratch, self.clock, self.lease_ms = config, stores, scratch, clock, lease_ms
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def run_once(self) -> Upload | None:
        """Claim and read one upload; the upload claimed (None when none waits)."""
        upload = self.stores.uploads.claim(self.clock(), self.lease_ms)
        if upload is not None:
            self._read(upload)
        return upload

    def _read(self, upload: Upload) -> None:
        url, uploads = self.config.archive_url, self.stores.uploads
        if upload.attempts > self.config.ingest_max_attempts:
            reason = (
                f"the upload could not be read in {upload.attempts - 1} attempts (an ingest process stopped or "
                "failed while reading it each time): send it again, and tell the operator if that fails too"
            )
            if uploads.fail(upload, self.clock(), reason):
                remove_staged(url, upload.path)
            return
        renewed = [time.monotonic()]

        def renew() -> None:
            if time.monotonic() - renewed[0] >= self.lease_ms / 3000:
                if not uploads.renew(upload, self.clock()):
                    raise ClaimLost(upload.upload_id)
                renewed[0] = time.monotonic()

        try:
            with local_copy(url, upload.path, self.scratch) as path:
                if upload.kind is UploadKind.batch:
                    result = _batch(upload, path, self.config, self.stores, renew)
                else:
                    result = _reference_rows(upload, path, self.config)
        except (BadBatch, BadUpload, StagedFileMissing) as error:
            log.info("upload %s of %s refused: %s", upload.upload_id, upload.project, error)
            if uploads.fail(upload, self.clock(), str(error)):
                remove_staged(url, upload.path)
            return
        except ClaimLost:
            log.warning("upload %s was taken over by another ingest process", upload.upload_id)
            return
        if uploads.finish(upload, self.clock(), result):
            remove_staged(url, upload.path)
        log.info("upload %s of %s/%s stored", upload.upload_id, upload.project, upload.endpoint_uid)

    def run(self, stop: threading.Event) -> None:
        """Read uploads until ``stop`` is set; the database being away only pauses it."""
        pruned = 0.0
        while not stop.is_set():
            try:
                if time.monotonic() - pruned >= _PRUNE_EVERY_S:
                    self.stores.uploads.prune(self.clock() - KEEP_FINISHED_MS)
                    pruned = time.monotonic()
                if self.run_once() is None:
                    stop.wait(IDLE_SECONDS)
            except StoreUnavailable as error:
                log.warning("uploads: %s; trying again", error)
                stop.wait(5 * IDLE_SECONDS)
            except Exception:  # a bug or the archive storage: the claim runs out and the upload is tried again
                log.exception("uploads: reading an upload failed; it is tried again when its claim runs out")
                stop.wait(IDLE_SECONDS)

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, args=(self._stop,), name="uploads", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the upload being read, waiting ``timeout`` seconds at most: an upload left half read
        is claimed again once its lease runs out, and its rows replaced."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
