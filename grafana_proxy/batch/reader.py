"""Reading a batch file chunk by chunk (Arrow record batches), so a file of any size is processed in
bounded memory: Parquet row group by row group (memory follows the file's row group size: the client
writes 50,000-row groups), CSV block by block. JSON records (a list of objects, or
``{"records": [...]}``) are for small batches and are read whole.

pyarrow is imported inside the functions: this module is on the API's import path, and a server that only
answers queries should not load it."""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

if TYPE_CHECKING:
    import pyarrow as pa

CHUNK_ROWS = 16_384  # 100 float columns: ~13 MB a chunk


class BatchFormat(StrEnum):
    parquet = "parquet"
    csv = "csv"
    json = "json"


class BadBatch(ValueError):
    """The batch cannot be read or does not have the columns asked for; the message names the fix."""


def format_of(content_type: str | None, filename: str | None = None) -> BatchFormat:
    """The format from a Content-Type (or, failing that, a file name)."""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind in ("text/csv", "application/csv"):
        return BatchFormat.csv
    if kind in ("application/json", "application/x-ndjson"):
        return BatchFormat.json
    if kind in ("application/vnd.apache.parquet", "application/x-parquet", "application/parquet"):
        return BatchFormat.parquet
    suffix = Path(filename or "").suffix.lower()
    for fmt in BatchFormat:
        if suffix == f".{fmt.value}" or (fmt is BatchFormat.parquet and suffix == ".pq"):
            return fmt
    if kind in ("application/octet-stream", ""):
        return BatchFormat.parquet
    raise BadBatch(
        f"unsupported Content-Type {kind!r}: send application/vnd.apache.parquet, text/csv or application/json"
    )


def total_rows(path: Path, fmt: BatchFormat) -> int | None:
    """Rows in the file when the format says so without reading it (Parquet), else None."""
    if fmt is not BatchFormat.parquet:
        return None
    import pyarrow.parquet as pq

    try:
        return int(pq.ParquetFile(path).metadata.num_rows)
    except Exception as error:  # pyarrow raises several types for a file that is not Parquet
        raise BadBatch(f"not a readable Parquet file: {error}") from None


def chunks(path: Path, fmt: BatchFormat, rows: int = CHUNK_ROWS) -> Iterator[pa.RecordBatch]:
    """The file's rows as record batches of at most about ``rows`` rows."""
    import pyarrow as pa

    try:
        if fmt is BatchFormat.parquet:
            import pyarrow.parquet as pq

            # One reader per row group: a single reader over the whole file keeps what it decoded
            # (pyarrow 26: memory grew with the file), one per row group is bounded by the row group.
            parquet = pq.ParquetFile(path)
            for group in range(parquet.num_row_groups):
                yield from parquet.iter_batches(batch_size=rows, row_groups=[group])
        elif fmt is BatchFormat.csv:
            import pyarrow.csv as pcsv

            # Blocks of ~4 MB: bounded memory whatever the file size.
            with pcsv.open_csv(path, read_options=pcsv.ReadOptions(block_size=4 << 20)) as reader:
                yield from reader
        else:
            yield from pa.Table.from_pylist(records(path)).to_batches(max_chunksize=rows)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as error:
        raise BadBatch(f"cannot read the {fmt.value} batch: {error}") from None


def records(path: Path) -> list[dict[str, object]]:
    try:
        body = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as error:
        raise BadBatch(f"body is not valid JSON: {error}") from None
    records = body.get("records") if isinstance(body, dict) else body
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise BadBatch('JSON batches are a list of row objects, or {"records": [...]}')
    return records
