from __future__ import annotations

import os
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from grafana_proxy.archive import compact, read_window
from grafana_proxy.archive.layout import REPLACES_KEY, open_root, rows_to_table, write_atomic
from grafana_proxy.archive.writer import ArchiveBuffer
from grafana_proxy.model import NormalEvent

DAY = 86_400_000
T0 = 1_790_000_000_000 // DAY * DAY  # midnight UTC


def _event(i: int, ts: int, uid: str = "ep", names: list[str] | None = None) -> NormalEvent:
    names = names or ["x", "kind"]
    return NormalEvent(
        project="p",
        endpoint_uid=uid,
        request_id=f"r{i}",
        timestamp=ts,
        feature_names=names,
        named=True,
        rows=[[float(i), "a" if i % 2 else "b"][: len(names)] + [float(i)] * (len(names) - 2)],
        outputs=[[0.2, 0.8]],
        latency=10.0 * i,
        error=None,
    )


def _flush(url: str, events: list[NormalEvent], seq: int) -> list[str]:
    buffer = ArchiveBuffer(url, "spool1")
    for event in events:
        buffer.add(seq, event)
    return buffer.flush()


def test_partitions_by_project_endpoint_and_day_and_reads_back(tmp_path: Path) -> None:
    url = str(tmp_path / "archive")
    files = _flush(
        url, [_event(i, T0 - 2 * 3_600_000 + i * 1_800_000) for i in range(8)] + [_event(99, T0, "other")], 1
    )
    assert sorted(Path(f).relative_to(url).parent.as_posix() for f in files) == [
        "project=p/endpoint_id=ep/date=2026-09-20",
        "project=p/endpoint_id=ep/date=2026-09-21",
        "project=p/endpoint_id=other/date=2026-09-21",
    ]
    whole = pd.read_parquet(url)
    assert len(whole) == 9 and {"project", "endpoint_id", "date", "feature.x"} <= set(whole.columns)
    # The window crosses midnight; its end is exclusive.
    frame = read_window(url, "p", "ep", T0 - 3_600_000, T0 + 1_800_000)
    assert frame["request_id"].tolist() == ["r2", "r3", "r4"]  # r5 sits exactly on the end
    assert frame["timestamp"].tolist() == [T0 - 3_600_000 + k * 1_800_000 for k in range(3)]
    assert frame["x"].tolist() == [2.0, 3.0, 4.0] and frame["kind"].tolist() == ["b", "a", "b"]
    assert frame["prediction"].tolist() == [0.2] * 3 and frame["output"][0] == "[0.2,0.8]"
    assert frame.attrs["feature_names"] == ["x", "kind"]
    assert read_window(url, "p", "nothing", T0, T0 + DAY).empty


def test_a_feature_added_later_is_read_with_the_union_of_columns(tmp_path: Path) -> None:
    url = str(tmp_path / "a")
    _flush(url, [_event(1, T0 + 1)], 1)
    _flush(url, [_event(2, T0 + 2, names=["x", "kind", "new"])], 2)
    frame = read_window(url, "p", "ep", T0, T0 + 10)
    assert frame["new"].isna().tolist() == [True, False]


def test_half_written_files_are_invisible(tmp_path: Path) -> None:
    url = str(tmp_path / "a")
    [path] = _flush(url, [_event(1, T0)], 1)
    Path(path).with_name(".part-x.parquet.123.tmp").write_bytes(b"PAR1 half a file")
    assert len(pd.read_parquet(url)) == 1
    assert len(read_window(url, "p", "ep", T0, T0 + 1)) == 1


def test_compaction_merges_small_files_and_survives_an_interrupted_run(tmp_path: Path) -> None:
    url = str(tmp_path / "a")
    for i in range(5):
        _flush(url, [_event(i, T0 + i)], i + 1)
    before = read_window(url, "p", "ep", T0, T0 + 10)
    report = compact(url, min_age_seconds=0)
    assert (report.partitions, report.files_merged) == (1, 5)
    directory = tmp_path / "a" / "project=p" / "endpoint_id=ep" / "date=2026-09-21"
    assert len(list(directory.glob("*.parquet"))) == 1
    pd.testing.assert_frame_equal(read_window(url, "p", "ep", T0, T0 + 10), before)

    # A compaction killed after writing its file but before deleting the sources shows no duplicates...
    _flush(url, [_event(7, T0 + 7)], 7)
    fs, _ = open_root(url)
    sources = sorted(str(p) for p in directory.glob("*.parquet"))
    merged = pd.concat([pd.read_parquet(s) for s in sources])

    write_atomic(
        fs,
        str(directory / "part-c999.parquet"),
        pa.Table.from_pandas(merged, preserve_index=False),
        {REPLACES_KEY: "\n".join(Path(s).name for s in sources).encode()},
    )
    assert read_window(url, "p", "ep", T0, T0 + 10)["request_id"].is_unique
    # ...and the next run removes the leftovers.
    old = time.time() - 3600
    for path in directory.glob("*.parquet"):
        os.utime(path, (old, old))
    compact(url, min_age_seconds=0)
    assert len(list(directory.glob("*.parquet"))) == 1
    assert len(read_window(url, "p", "ep", T0, T0 + 10)) == 6


@pytest.mark.parametrize("scheme", ["memory://", "file://"])
def test_any_fsspec_url(tmp_path: Path, scheme: str) -> None:
    url = f"memory://archive-{os.getpid()}" if scheme == "memory://" else f"file://{tmp_path}/a"
    _flush(url, [_event(1, T0), _event(2, T0 + 1)], 1)
    assert read_window(url, "p", "ep", T0, T0 + 10)["request_id"].tolist() == ["r1", "r2"]


def test_rows_to_table_types() -> None:
    table = rows_to_table(
        [
            {
                "timestamp": T0,
                "request_id": "a",
                "row": 0,
                "latency": None,
                "error": "boom",
                "output": "cat",
                "features": {"n": 1, "b": True, "s": "x"},
            },
        ]
    )
    types = {f.name: str(f.type) for f in table.schema}
    assert types["feature.n"] == "double" and types["feature.b"] == "double" and types["feature.s"] == "string"
    assert table.column("prediction").to_pylist() == [None] and table.column("error").to_pylist() == ["boom"]


def test_compaction_drops_rows_two_stream_writers_archived_twice(tmp_path: Path) -> None:
    """A stream-ingest process killed between its archive flush and its ack: another process archives the
    same events again under its own file name; compaction keeps one copy of each (request_id, row)."""
    url = str(tmp_path / "a")
    events = [_event(i, T0 + i) for i in range(4)]
    for writer in ("host-1-aaa", "host-2-bbb"):
        buffer = ArchiveBuffer(url, writer)
        for event in events[:3] if writer.startswith("host-1") else events[1:]:
            buffer.add(7, event)
        buffer.flush()
    assert len(read_window(url, "p", "ep", T0, T0 + 10)) == 6
    compact(url, min_age_seconds=0)
    frame = read_window(url, "p", "ep", T0, T0 + 10)
    assert frame["request_id"].tolist() == ["r0", "r1", "r2", "r3"]
