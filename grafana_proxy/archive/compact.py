"""Compaction: merge the many small files of a partition into one.

The merged file is written atomically under a ``part-c...`` name and lists its sources in its Parquet
metadata; only then are the sources deleted. Readers skip files a compacted file replaces, so a compaction
cut short (kill -9 between the rename and the deletes) never shows a row twice, and the next run finishes
the deletes."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import fsspec

if TYPE_CHECKING:
    import pyarrow as pa

from grafana_proxy.archive.layout import REPLACES_KEY, open_root, write_atomic
from grafana_proxy.archive.reader import read_table, visible_files
from grafana_proxy.clock import now_ms


@dataclass(frozen=True)
class CompactionReport:
    partitions: int
    files_merged: int
    files_deleted: int


def _partitions(fs: fsspec.AbstractFileSystem, root: str, project: str | None) -> list[str]:
    pattern = f"{root}/project={project or '*'}/endpoint_id=*/date=*"
    return sorted(str(p) for p in fs.glob(pattern) if fs.isdir(p))


def _leftovers(fs: fsspec.AbstractFileSystem, directory: str, visible: list[str]) -> list[str]:
    everything = [str(n) for n in fs.ls(directory, detail=False) if str(n).endswith(".parquet")]
    return [p for p in everything if p not in visible and not p.rsplit("/", 1)[-1].startswith(".")]


def drop_duplicate_rows(table: pa.Table) -> pa.Table:
    """Keep the first of rows with the same (request_id, row): the stream ingest archives a message's
    events again when it was killed after writing its archive file but before acknowledging it."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if table.num_rows == 0:
        return table
    indexed = table.append_column("__index", pa.array(range(table.num_rows), pa.int64()))
    firsts = indexed.group_by(["request_id", "row"], use_threads=False).aggregate([("__index", "min")])
    keep = pc.sort_indices(firsts.column("__index_min"))
    if len(keep) == table.num_rows:
        return table
    return table.take(pc.take(firsts.column("__index_min"), keep))


def compact(
    url: str,
    project: str | None = None,
    min_files: int = 2,
    min_age_seconds: float = 300,
) -> CompactionReport:
    """Merge every partition holding at least ``min_files`` files older than ``min_age_seconds`` (young
    files may still be rewritten by a pipeline recovering from a crash)."""
    fs, root = open_root(url)
    partitions = merged = deleted = 0
    cutoff = time.time() - min_age_seconds
    for directory in _partitions(fs, root, project):
        visible = visible_files(fs, directory)
        # Finish an earlier interrupted compaction first.
        for path in _leftovers(fs, directory, visible):
            fs.rm(path)
            deleted += 1
        old = [p for p in visible if fs.modified(p).timestamp() <= cutoff]
        if len(old) < min_files:
            continue
        table = read_table(fs, old, 0, 2**62).sort_by([("timestamp", "ascending"), ("request_id", "ascending")])
        table = drop_duplicate_rows(table)
        names = [p.rsplit("/", 1)[-1] for p in old]
        target = f"{directory}/part-c{now_ms():015d}.parquet"
        write_atomic(fs, target, table, {REPLACES_KEY: "\n".join(names).encode()})
        for path in old:
            fs.rm(path)
            deleted += 1
        partitions += 1
        merged += len(old)
    return CompactionReport(partitions=partitions, files_merged=merged, files_deleted=deleted)
