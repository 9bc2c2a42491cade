"""Arrow arrays of archive columns built from buffers (numpy values, a validity bitmap, UTF-8 offsets),
not with ``pa.array``: pyarrow 26 imports pandas the first time ``pa.array`` sees Python values, and
the ingest role, which writes the archive, has no other use for pandas' ~40 MB resident. The arrays
are the same (types, values, nulls) as ``pa.array(values, type=...)`` would make."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pyarrow as pa

_MAX_STRING_BYTES = 2**31 - 1  # int32 offsets of ``pa.string()``


def _validity(present: np.ndarray) -> tuple[pa.Buffer | None, int]:
    import pyarrow as pa

    nulls = int(len(present) - np.count_nonzero(present))
    if not nulls:
        return None, 0
    return pa.py_buffer(np.packbits(present, bitorder="little")), nulls


def int_array(values: Sequence[int], dtype: type[np.integer], arrow_type: pa.DataType) -> pa.Array:
    """Integers without nulls (timestamps, row numbers)."""
    import pyarrow as pa

    data = np.asarray(values, dtype=dtype)
    return pa.Array.from_buffers(arrow_type, len(data), [None, pa.py_buffer(data)], null_count=0)


def float_array(values: Sequence[float | None]) -> pa.Array:
    """float64 with None as null."""
    import pyarrow as pa

    present = np.fromiter((v is not None for v in values), dtype=bool, count=len(values))
    data = np.fromiter((0.0 if v is None else v for v in values), dtype=np.float64, count=len(values))
    validity, nulls = _validity(present)
    return pa.Array.from_buffers(pa.float64(), len(data), [validity, pa.py_buffer(data)], null_count=nulls)


def string_array(values: Sequence[str | None]) -> pa.Array:
    """UTF-8 strings with None as null."""
    import pyarrow as pa

    encoded = [b"" if v is None else v.encode() for v in values]
    lengths = np.fromiter((len(e) for e in encoded), dtype=np.int64, count=len(encoded))
    total = int(lengths.sum())
    if total > _MAX_STRING_BYTES:  # beyond int32 offsets: let pyarrow chunk it (and load pandas)
        return pa.array(list(values), type=pa.string())
    offsets = np.zeros(len(encoded) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:], dtype=np.int32)
    present = np.fromiter((v is not None for v in values), dtype=bool, count=len(values))
    validity, nulls = _validity(present)
    buffers = [validity, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))]
    return pa.Array.from_buffers(pa.string(), len(encoded), buffers, null_count=nulls)
