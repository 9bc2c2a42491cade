"""Reading the archive: the window of one endpoint as a DataFrame (for the controller and apps).

pandas and pyarrow are imported inside the functions: the controller role imports this module for its
controller, and neither library is needed until a window actually holds events (M1 in
benchmarks/RESULTS.md: pandas plus pyarrow.dataset cost ~100 MB resident)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import fsspec

from grafana_proxy.archive.layout import (
    BASE_COLUMNS,
    FEATURE_PREFIX,
    REPLACES_KEY,
    UnsafePath,
    open_root,
    partition_path,
)
from grafana_proxy.identifiers import is_valid

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa


def _days(start_ms: int, end_ms: int) -> list[str]:
    first = datetime.fromtimestamp(start_ms / 1000, tz=UTC).date()
    last = datetime.fromtimestamp(max(start_ms, end_ms - 1) / 1000, tz=UTC).date()
    return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def visible_files(fs: fsspec.AbstractFileSystem, directory: str) -> list[str]:
    """Parquet files of one partition, minus those a compacted file says it replaces (a compaction that was
    interrupted before deleting its sources must not show their rows twice)."""
    try:
        names = fs.ls(directory, detail=False)
    except FileNotFoundError:
        return []
    files = sorted(
        str(n) for n in names if str(n).endswith(".parquet") and not str(n).rsplit("/", 1)[-1].startswith((".", "_"))
    )
    replaced: set[str] = set()
    for path in files:
        if path.rsplit("/", 1)[-1].startswith("part-c"):
            import pyarrow.parquet as pq

            meta = pq.read_schema(path, filesystem=fs).metadata or {}
            replaced.update(meta.get(REPLACES_KEY, b"").decode().split("\n"))
    return [p for p in files if p.rsplit("/", 1)[-1] not in replaced]


def read_table(fs: fsspec.AbstractFileSystem, files: list[str], start_ms: int, end_ms: int) -> pa.Table:
    import pyarrow as pa
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    # Files of one endpoint may differ in feature columns (a feature added later): read with the union.
    schema = pa.unify_schemas([pq.read_schema(f, filesystem=fs) for f in files], promote_options="permissive")
    dataset = ds.dataset(files, schema=schema.remove_metadata(), format="parquet", filesystem=fs)
    start = pa.scalar(start_ms, pa.int64()).cast(pa.timestamp("ms", tz="UTC"))
    end = pa.scalar(end_ms, pa.int64()).cast(pa.timestamp("ms", tz="UTC"))
    return dataset.to_table(filter=(ds.field("timestamp") >= start) & (ds.field("timestamp") < end))


def _window_files(fs: fsspec.AbstractFileSystem, root: str, project: str, uid: str, start: int, end: int) -> list[str]:
    """The visible files of the day partitions a window touches (a file may hold rows outside the window)."""
    files: list[str] = []
    for date in _days(start, end):
        try:
            path = partition_path(root, project, uid, date)
        except UnsafePath:
            return []  # an identifier stored before the rule existed: the writer never archives under it
        files.extend(visible_files(fs, path))
    return files


def archived_days(url: str, project: str, endpoint_uid: str) -> frozenset[str]:
    """The dates (YYYY-MM-DD) that have a partition for this endpoint: one directory listing, so the
    controller can skip a month of empty windows without looking at each one."""
    fs, root = open_root(url)
    if not (is_valid("project", project) and is_valid("endpoint_id", endpoint_uid)):
        return frozenset()  # never a directory listing outside the archive root
    try:
        names = fs.ls(f"{root}/project={project}/endpoint_id={endpoint_uid}", detail=False)
    except FileNotFoundError:
        return frozenset()
    return frozenset(
        str(name).rsplit("/", 1)[-1].removeprefix("date=") for name in names if "date=" in str(name).rsplit("/", 1)[-1]
    )


def read_window(url: str, project: str, endpoint_uid: str, start_ms: int, end_ms: int) -> pd.DataFrame:
    """Raw rows of one endpoint with ``start_ms <= timestamp < end_ms``, ordered by time.

    Columns: ``timestamp`` (int epoch ms), ``request_id``, ``row``, ``latency`` (µs), ``error``,
    ``output`` (JSON text), ``prediction`` (float or NaN), ``raw`` (JSON text of a request not understood),
    then one column per feature under its own name (a feature named like a base column keeps its
    ``feature.`` prefix). ``df.attrs["feature_names"]`` lists the feature columns. An empty frame (with
    the base columns) when nothing was archived."""
    import pandas as pd

    frame = read_archived_window(url, project, endpoint_uid, start_ms, end_ms)
    if frame is None:
        frame = pd.DataFrame({name: pd.Series(dtype="float64") for name in BASE_COLUMNS})
        frame.attrs["feature_names"] = []
    return frame


def read_archived_window(url: str, project: str, endpoint_uid: str, start_ms: int, end_ms: int) -> pd.DataFrame | None:
    """``read_window``, but None (and no pandas import) when no archive file covers the window's days:
    the controller walks many empty windows, and the controller should not load pandas for them."""
    fs, root = open_root(url)
    files = _window_files(fs, root, project, endpoint_uid, start_ms, end_ms)
    if not files:
        return None
    import pyarrow as pa

    table = read_table(fs, files, start_ms, end_ms)
    table = table.set_column(0, "timestamp", table.column("timestamp").cast(pa.int64()))
    renames: dict[str, str] = {}
    for name in table.column_names:
        if name.startswith(FEATURE_PREFIX):
            short = name[len(FEATURE_PREFIX) :]
            renames[name] = name if short in BASE_COLUMNS else short
    frame = table.rename_columns([renames.get(n, n) for n in table.column_names]).to_pandas()
    frame = frame.sort_values(["timestamp", "request_id", "row"], kind="stable", ignore_index=True)
    frame.attrs["feature_names"] = list(renames.values())
    return frame
