"""What the api role checks of an uploaded batch before it accepts it, without pandas or pyarrow: that a
Parquet file has Parquet's magic bytes, and that a CSV header or the JSON records name the columns asked
for and are followed by rows. A refusal here is the same 4xx, with the same message, that reading the
file would give; what only reading can find (a bad Parquet schema, a bad timestamp value) the ingest role
reports as the upload's failure."""

from __future__ import annotations

import csv
from pathlib import Path

from grafana_proxy.batch.ingest import BatchSpec, resolve_columns
from grafana_proxy.batch.reader import BadBatch, BatchFormat, records

PARQUET_MAGIC = b"PAR1"
HEADER_BYTES = 1 << 20  # a header line longer than this is left to the reader


def is_parquet(path: Path) -> bool:
    """Parquet files start and end with ``PAR1`` (and hold at least a footer length between them)."""
    size = path.stat().st_size
    if size < 2 * len(PARQUET_MAGIC) + 4:
        return False
    with path.open("rb") as handle:
        head = handle.read(len(PARQUET_MAGIC))
        handle.seek(size - len(PARQUET_MAGIC))
        return head == PARQUET_MAGIC and handle.read() == PARQUET_MAGIC


def _csv_header(path: Path) -> tuple[list[str], bool] | None:
    """(column names, whether a row follows), or None when the header is too long to check here."""
    with path.open("rb") as handle:
        head = handle.read(HEADER_BYTES)
    line, newline, rest = head.partition(b"\n")
    if not newline and len(head) == HEADER_BYTES:
        return None
    try:
        text = line.decode("utf-8-sig").rstrip("\r")
    except UnicodeDecodeError as error:
        raise BadBatch(f"the CSV header is not UTF-8 text: {error}") from None
    names = next(csv.reader([text]), [])
    return names, bool(rest.strip())


def check_batch(path: Path, fmt: BatchFormat, spec: BatchSpec) -> None:
    """``BadBatch`` naming the fix when the file cannot be the batch described by ``spec``."""
    if fmt is BatchFormat.parquet:
        if not is_parquet(path):
            raise BadBatch(
                "not a readable Parquet file (no PAR1 magic bytes at its start and end): send a Parquet file, "
                "or set the Content-Type of a CSV (text/csv) or JSON (application/json) batch"
            )
        return
    if fmt is BatchFormat.csv:
        header = _csv_header(path)
        if header is None:
            return
        names, has_rows = header
    else:
        rows = records(path)
        names, has_rows = (list(rows[0]) if rows else []), bool(rows)
    if names:
        resolve_columns(names, spec)
    if not has_rows:
        raise BadBatch("the batch has no rows")
