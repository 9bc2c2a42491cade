"""Archive arrays built from buffers equal what ``pa.array`` makes, and writing the archive does not
load pandas (the ingest role writes it; pandas would cost it ~40 MB)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pyarrow as pa

from grafana_proxy.archive.arrow import float_array, int_array, string_array
from grafana_proxy.archive.layout import ArchiveColumns, columns_to_table


def test_arrays_equal_pyarrows_own() -> None:
    texts = ["a", None, "", "żółw ✓", "x" * 1000, None]
    floats = [1.5, None, 0.0, -2.25, float("nan"), None, 1e300]
    assert string_array(texts).equals(pa.array(texts, type=pa.string()))
    assert float_array(floats).to_pylist()[:4] == [1.5, None, 0.0, -2.25]
    # NaN stays a value (not a null), as with pa.array
    assert float_array(floats).is_null().to_pylist() == pa.array(floats, type=pa.float64()).is_null().to_pylist()
    assert string_array([]).equals(pa.array([], type=pa.string()))
    assert string_array(["a", "b"]).null_count == 0
    stamps = [1_700_000_000_000, 1_700_000_060_000]
    expected = pa.array(stamps, type=pa.int64()).cast(pa.timestamp("ms", tz="UTC"))
    assert int_array(stamps, np.int64, pa.timestamp("ms", tz="UTC")).equals(expected)
    assert int_array([0, 1, 2], np.int32, pa.int32()).equals(pa.array([0, 1, 2], type=pa.int32()))


def test_table_of_buffered_rows_keeps_values_nulls_and_types() -> None:
    columns = ArchiveColumns()
    columns.append(1_700_000_000_000, "r1", 0, 12.5, None, [1], {"x": 1}, {"f": 1.5, "cat": "a"})
    columns.append(1_700_000_000_500, "r2", 0, None, "boom", None, None, {"f": 2})
    table = columns_to_table(columns)
    rows = table.to_pylist()
    assert [r["request_id"] for r in rows] == ["r1", "r2"]
    assert rows[0]["latency"] == 12.5 and rows[1]["latency"] is None
    assert rows[1]["error"] == "boom" and rows[0]["error"] is None
    assert rows[0]["feature.f"] == 1.5 and rows[1]["feature.f"] == 2.0
    assert rows[0]["feature.cat"] == "a" and rows[1]["feature.cat"] is None
    assert table.schema.field("feature.f").type == pa.float64()
    assert table.schema.field("timestamp").type == pa.timestamp("ms", tz="UTC")


def test_writing_the_archive_does_not_import_pandas(tmp_path: object) -> None:
    code = (
        "import sys, pyarrow.parquet as pq, io\n"
        "from grafana_proxy.archive.layout import ArchiveColumns, columns_to_table\n"
        "c = ArchiveColumns()\n"
        "c.append(1, 'r', 0, 1.0, None, [1], {'a': 1}, {'f': 1.0, 'g': 'x'})\n"
        "pq.write_table(columns_to_table(c), io.BytesIO(), compression='zstd')\n"
        "print('pandas' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "False", out.stderr
