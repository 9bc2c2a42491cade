"""The write path's bulk work: numpy helpers that dedupe a batch of points and aggregate it into rollup
rows, and the driver-level SQL that inserts raw points and merges rollup rows in as few round trips
as each backend allows (SQLite: executemany in C; PostgreSQL: one ``unnest`` statement per table;
MySQL: PyMySQL's multi-row executemany). The read side's SQL over the same tiers (``bucket_query``)
and its driver-level row fetch (``driver_rows``) live here too.

Why driver SQL instead of SQLAlchemy Core here: Core's per-row parameter processing costs more than
the database work for 100k-point batches; these statements are fixed and built from constant names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import (
    BigInteger,
    BindParameter,
    ColumnElement,
    Connection,
    CursorResult,
    Select,
    Table,
    and_,
    func,
    literal_column,
    select,
)
from sqlalchemy.engine.cursor import CursorFetchStrategy

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

_ROLLUP_COLUMNS = ("series_id", "bucket", "count", "sum", "min", "max", "last", "last_ts")


@dataclass(frozen=True)
class Batch:
    """Points sorted by (series_id, ts), unique on that pair."""

    series_ids: IntArray
    times: IntArray
    values: FloatArray

    def __len__(self) -> int:
        return len(self.times)

    def select(self, mask: npt.NDArray[np.bool_]) -> Batch:
        return Batch(self.series_ids[mask], self.times[mask], self.values[mask])


def sorted_unique(series_ids: IntArray, times: IntArray, values: FloatArray) -> Batch:
    """Sort by (series_id, ts) and keep the first occurrence of each pair (a re-sent point is ignored,
    also inside one batch). One stable lexsort, no Python loop."""
    order = np.lexsort((times, series_ids))
    sids, ts = series_ids[order], times[order]
    keep = np.ones(len(ts), dtype=bool)
    keep[1:] = (sids[1:] != sids[:-1]) | (ts[1:] != ts[:-1])
    return Batch(sids[keep], ts[keep], values[order][keep])


def drop_existing(batch: Batch, existing_sids: IntArray, existing_times: IntArray) -> Batch:
    """The points of ``batch`` whose (series_id, ts) is not among the existing pairs."""
    if len(existing_times) == 0 or len(batch) == 0:
        return batch
    # Encode pairs as one int64: (rank of series id) * span + ts offset. Both sides share the encoding.
    uniq = np.unique(batch.series_ids)
    low = int(min(batch.times.min(), existing_times.min()))
    span = int(max(batch.times.max(), existing_times.max())) - low + 1
    if span * (len(uniq) + 1) >= 2**62:  # pathological ranges: fall back to a set of pairs
        seen = set(zip(existing_sids.tolist(), existing_times.tolist(), strict=True))
        mask = np.array(
            [pair not in seen for pair in zip(batch.series_ids.tolist(), batch.times.tolist(), strict=True)], dtype=bool
        )
        return batch.select(mask)
    new_keys = np.searchsorted(uniq, batch.series_ids) * span + (batch.times - low)
    old_rank = np.searchsorted(uniq, existing_sids)
    valid = (old_rank < len(uniq)) & (uniq[np.minimum(old_rank, len(uniq) - 1)] == existing_sids)
    old_keys = old_rank[valid] * span + (existing_times[valid] - low)
    return batch.select(~np.isin(new_keys, old_keys))


@dataclass(frozen=True)
class RollupRows:
    """Aggregated rows of one tier, column-wise, in ``_ROLLUP_COLUMNS`` order."""

    series_ids: IntArray
    buckets: IntArray
    counts: IntArray
    sums: FloatArray
    mins: FloatArray
    maxs: FloatArray
    lasts: FloatArray
    last_ts: IntArray

    def __len__(self) -> int:
        return len(self.buckets)

    def columns(self) -> list[list[int] | list[float]]:
        return [
            self.series_ids.tolist(),
            self.buckets.tolist(),
            self.counts.tolist(),
            self.sums.tolist(),
            self.mins.tolist(),
            self.maxs.tolist(),
            self.lasts.tolist(),
            self.last_ts.tolist(),
        ]


def aggregate(batch: Batch, size_ms: int) -> RollupRows:
    """Group a sorted batch into buckets of ``size_ms``: since ts is ascending inside each series, the
    (series, bucket) groups are contiguous runs and every aggregate is one ``reduceat``."""
    buckets = batch.times - batch.times % size_ms
    n = len(buckets)
    if n == 0:
        empty_i, empty_f = np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
        return RollupRows(empty_i, empty_i, empty_i, empty_f, empty_f, empty_f, empty_f, empty_i)
    starts_mask = np.ones(n, dtype=bool)
    starts_mask[1:] = (batch.series_ids[1:] != batch.series_ids[:-1]) | (buckets[1:] != buckets[:-1])
    starts = np.flatnonzero(starts_mask)
    ends = np.append(starts[1:], n) - 1
    return RollupRows(
        series_ids=batch.series_ids[starts],
        buckets=buckets[starts],
        counts=(ends - starts + 1).astype(np.int64),
        sums=np.add.reduceat(batch.values, starts),
        mins=np.minimum.reduceat(batch.values, starts),
        maxs=np.maximum.reduceat(batch.values, starts),
        lasts=batch.values[ends],
        last_ts=batch.times[ends],
    )


def insert_points(conn: Connection, batch: Batch) -> None:
    """Insert raw points, skipping (series_id, ts) pairs that exist already."""
    if len(batch) == 0:
        return
    dialect = conn.dialect.name
    columns = [batch.series_ids.tolist(), batch.times.tolist(), batch.values.tolist()]
    if dialect == "postgresql":
        conn.exec_driver_sql(
            "INSERT INTO points (series_id, ts, value) "
            "SELECT * FROM unnest(%s::integer[], %s::bigint[], %s::double precision[]) "
            "ON CONFLICT DO NOTHING",
            tuple(columns),
        )
        return
    rows = list(zip(*columns, strict=True))
    if dialect == "mysql":
        conn.exec_driver_sql("INSERT IGNORE INTO points (series_id, ts, value) VALUES (%s, %s, %s)", rows)
    else:
        conn.exec_driver_sql("INSERT OR IGNORE INTO points (series_id, ts, value) VALUES (?, ?, ?)", rows)


def merge_rollups(conn: Connection, table: str, rows: RollupRows) -> None:
    """Merge aggregated rows into a tier: counts and sums add up, min/max widen, ``last`` follows the
    larger ``last_ts``. ``table`` is one of the constant tier names of ``schema.TIERS``."""
    if len(rows) == 0:
        return
    quote = conn.dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in _ROLLUP_COLUMNS)
    cnt, sm, mn, mx, last, last_ts = (quote(c) for c in _ROLLUP_COLUMNS[2:])
    dialect = conn.dialect.name
    if dialect == "mysql":
        # Assignments run left to right and see earlier ones: ``last`` must read the old last_ts.
        sql = (
            f"INSERT INTO {table} ({names}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON DUPLICATE KEY UPDATE "
            f"{cnt} = {cnt} + VALUES({cnt}), {sm} = {sm} + VALUES({sm}), "
            f"{mn} = LEAST({mn}, VALUES({mn})), {mx} = GREATEST({mx}, VALUES({mx})), "
            f"{last} = IF(VALUES({last_ts}) >= {last_ts}, VALUES({last}), {last}), "
            f"{last_ts} = GREATEST({last_ts}, VALUES({last_ts}))"
        )
        conn.exec_driver_sql(sql, list(zip(*rows.columns(), strict=True)))
        return
    update = (
        f"ON CONFLICT (series_id, bucket) DO UPDATE SET "
        f"{cnt} = {table}.{cnt} + excluded.{cnt}, {sm} = {table}.{sm} + excluded.{sm}, "
        f"{mn} = CASE WHEN excluded.{mn} < {table}.{mn} THEN excluded.{mn} ELSE {table}.{mn} END, "
        f"{mx} = CASE WHEN excluded.{mx} > {table}.{mx} THEN excluded.{mx} ELSE {table}.{mx} END, "
        f"{last} = CASE WHEN excluded.{last_ts} >= {table}.{last_ts} THEN excluded.{last} ELSE {table}.{last} END, "
        f"{last_ts} = CASE WHEN excluded.{last_ts} > {table}.{last_ts} THEN excluded.{last_ts} "
        f"ELSE {table}.{last_ts} END"
    )
    if dialect == "postgresql":
        sql = (
            f"INSERT INTO {table} ({names}) SELECT * FROM unnest(%s::integer[], %s::bigint[], %s::bigint[], "
            f"%s::double precision[], %s::double precision[], %s::double precision[], "
            f"%s::double precision[], %s::bigint[]) {update}"
        )
        conn.exec_driver_sql(sql, tuple(rows.columns()))
    else:
        # SQLite: "INSERT ... SELECT" needs a WHERE before ON CONFLICT to parse; VALUES does not.
        sql = f"INSERT INTO {table} ({names}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) {update}"
        conn.exec_driver_sql(sql, list(zip(*rows.columns(), strict=True)))


def driver_rows(result: CursorResult[Any]) -> list[tuple[Any, ...]]:
    """All rows of a just-executed SELECT as the driver's plain tuples. SQLAlchemy's ``Row`` objects
    cost more than the query itself for thousands of rows; the statement still runs through
    SQLAlchemy (compiled-statement cache, error translation). Only valid for columns whose types have
    no result processing (numbers): the driver's values are returned as they are."""
    try:
        if type(result.cursor_strategy) is CursorFetchStrategy and result.cursor is not None:
            return list(result.cursor.fetchall())
        return [tuple(row) for row in result]  # SQLAlchemy buffered the rows itself
    finally:
        result.close()


def bucket_query(
    table: Table,
    raw: bool,
    size: int,
    step: int,
    agg: str,
    series_ids: Select[int],
    low: int | BindParameter[int],
    high: int | BindParameter[int],
) -> Select[int, int, float]:
    """One statement for every series: (series_id, bucket start, aggregate) ordered by series, bucket.
    The step is inlined as a literal so the GROUP BY expression is textually the select's expression
    (PostgreSQL rejects them as different when each carries its own bind parameter)."""
    time_col = table.c.ts if raw else table.c.bucket
    bucket = (time_col - time_col % literal_column(str(int(step)), BigInteger)).label("b")
    where = and_(table.c.series_id.in_(series_ids.scalar_subquery()), time_col >= low, time_col < high)
    if agg == "last":
        last_ts = table.c.ts if raw else table.c.last_ts
        groups = select(table.c.series_id, bucket, func.max(last_ts).label("mts")).where(where)
        g = groups.group_by(table.c.series_id, bucket).subquery()
        on: ColumnElement[bool] = and_(table.c.series_id == g.c.series_id, last_ts == g.c.mts)
        if not raw:  # use the primary key: the row holding mts is the tier bucket containing it
            on = and_(on, table.c.bucket == g.c.mts - g.c.mts % literal_column(str(size), BigInteger))
        value_col = table.c.value if raw else table.c["last"]
        return select(g.c.series_id, g.c.b, value_col).select_from(table).join(g, on).order_by(g.c.series_id, g.c.b)
    value: ColumnElement[float]
    if raw:
        v = table.c.value
        value = {"avg": func.avg(v), "min": func.min(v), "max": func.max(v), "sum": func.sum(v), "count": func.count()}[
            agg
        ]
    else:
        value = {
            "avg": func.sum(table.c["sum"]) / func.sum(table.c["count"]),
            "min": func.min(table.c["min"]),
            "max": func.max(table.c["max"]),
            "sum": func.sum(table.c["sum"]),
            "count": func.sum(table.c["count"]),
        }[agg]
    stmt = select(table.c.series_id, bucket, value.label("v")).where(where)
    return stmt.group_by(table.c.series_id, bucket).order_by(table.c.series_id, bucket)
