"""Buffering raw events and writing them to the archive in batches."""

from __future__ import annotations

import time
from collections import defaultdict

from grafana_proxy.archive.layout import (
    ArchiveColumns,
    columns_to_table,
    day,
    open_root,
    partition_path,
    write_atomic,
)
from grafana_proxy.model import NormalEvent


class ArchiveBuffer:
    """Rows waiting for the next flush, grouped by partition. ``spool_id`` + the spool sequence of the first
    buffered event name the files, so a flush redone after a crash overwrites instead of duplicating."""

    def __init__(self, url: str, spool_id: str) -> None:
        self.url = url
        self._fs, self._root = open_root(url)
        self._spool_id = spool_id
        self._rows: dict[tuple[str, str, str], ArchiveColumns] = defaultdict(ArchiveColumns)
        self.first_seq: int | None = None
        self.size = 0
        self._since: float | None = None

    def add(self, seq: int, event: NormalEvent) -> None:
        if self.first_seq is None:
            self.first_seq, self._since = seq, time.monotonic()
        rows = self._rows[(event.project, event.endpoint_uid, day(event.timestamp))]
        for index, (values, output) in enumerate(zip(event.rows or [[]], event.outputs or [None], strict=False)):
            features = dict(zip(event.feature_names, values, strict=False))  # a repeated name: the last value wins
            rows.append(
                event.timestamp, event.request_id, index, event.latency, event.error, output, event.raw, features
            )
            self.size += 1

    def age_seconds(self) -> float | None:
        return None if self._since is None else time.monotonic() - self._since

    def flush(self) -> list[str]:
        """Write one file per partition; return the paths. The buffer is empty afterwards."""
        if self.first_seq is None:
            return []
        tag = f"{self._spool_id}-{self.first_seq:020d}"
        written = []
        for (project, uid, date), rows in sorted(self._rows.items()):
            path = f"{partition_path(self._root, project, uid, date)}/part-{tag}.parquet"
            write_atomic(self._fs, path, columns_to_table(rows))
            written.append(path)
        self._rows.clear()
        self.first_seq, self._since, self.size = None, None, 0
        return written
