"""Model-endpoint records (MLRun's KV store) in the ``endpoints`` table.

Writes are partial updates: only the fields given are validated and written, with race-safe
INSERT ... ON CONFLICT/DUPLICATE KEY UPDATE statements (one for the narrow row, one for the large JSON
documents in ``endpoint_documents`` when any is given). Listings for the endpoints table read only the
narrow summary columns, never the documents."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, and_, bindparam, case, delete, func, or_, select

from grafana_proxy.identifiers import check
from grafana_proxy.model import (
    ENDPOINT_FIELDS,
    JSON_FIELDS,
    WRITABLE_ENDPOINT_FIELDS,
    EndpointFilter,
    EndpointRecord,
    EndpointSummary,
    EndpointType,
)
from grafana_proxy.stores import schema
from grafana_proxy.stores.db import Database
from grafana_proxy.stores.inlist import chunks, post_filter, sql_list
from grafana_proxy.stores.rollup import driver_rows
from grafana_proxy.stores.series import SqlSeriesStore

_T = schema.endpoints
_D = schema.endpoint_documents
_DOCS = frozenset(schema.DOCUMENT_FIELDS)
# The full record: the narrow row plus its documents (absent documents read as empty objects).
_FULL = select(_T, *(_D.c[name] for name in schema.DOCUMENT_FIELDS)).select_from(
    _T.outerjoin(_D, and_(_D.c.project == _T.c.project, _D.c.uid == _T.c.uid))
)
_LIST_FIELDS = frozenset({"feature_names", "label_names"})
_STR_FIELDS = frozenset({"name", "function_uri", "model", "model_class", "model_uri", "monitoring_mode", "state"})
_INT_FIELDS = frozenset({"error_count", "endpoint_type"})
_OPTIONAL_INT_FIELDS = frozenset({"first_request", "last_request"})
_FLOAT_FIELDS = frozenset({"sampling_percentage"})
_OPTIONAL_FLOAT_FIELDS = frozenset(
    {
        "predictions_per_second",
        "latency_avg_5m",
        "latency_avg_1h",
        "predictions_count_5m",
        "predictions_count_1h",
        "accuracy",
    }
)
# MLRun spells drift status as enum names (<= 1.6 "NO_DRIFT"...) or as numbers (1.7+ result status).
_DRIFT_NAMES = {"NO_DRIFT": 0, "POSSIBLE_DRIFT": 1, "DRIFT_DETECTED": 2}
_SUMMARY_FIELDS = tuple(f for f in EndpointSummary.__dataclass_fields__)
_SUMMARY_SET = frozenset(_SUMMARY_FIELDS)
# Listing statements without model/function/label filters, built once per (columns, uids?, routers?):
# building a statement and its cache key cost more than running it for a one-endpoint panel.
_LISTINGS: dict[tuple[tuple[str, ...], bool, bool], Select[Any]] = {}


def _listing(fields: Sequence[str], flt: EndpointFilter | None) -> Select[Any] | None:
    """The prepared listing of ``fields`` for ``flt`` (bound parameters ``project`` and ``uids``), or
    None for a filter that needs ``_conditions``."""
    if flt is not None and (flt.model or flt.function or flt.labels or (flt.uids and sql_list(flt.uids) is None)):
        return None
    key = (tuple(fields), bool(flt and flt.uids), bool(flt and flt.exclude_routers))
    stmt = _LISTINGS.get(key)
    if stmt is None:
        stmt = select(*(_T.c[name] for name in fields)).where(_T.c.project == bindparam("project"))
        if key[1]:
            stmt = stmt.where(_T.c.uid.in_(bindparam("uids", expanding=True)))
        if key[2]:
            stmt = stmt.where(_T.c.endpoint_type != int(EndpointType.router))
        stmt = _LISTINGS[key] = stmt.order_by(_T.c.uid)
    return stmt


def normalize_drift_status(value: Any) -> int:
    """-1..2 from an int or MLRun's strings ("NO_DRIFT", "POSSIBLE_DRIFT", "DRIFT_DETECTED", "-1".."2")."""
    if isinstance(value, str):
        text = value.strip()
        if text.upper() in _DRIFT_NAMES:
            return _DRIFT_NAMES[text.upper()]
        try:
            value = int(text)
        except ValueError:
            raise ValueError(
                f"drift_status {value!r} is not one of -1, 0, 1, 2, NO_DRIFT, POSSIBLE_DRIFT, DRIFT_DETECTED"
            ) from None
    if isinstance(value, bool) or not isinstance(value, int) or value not in (-1, 0, 1, 2):
        raise ValueError(f"drift_status {value!r} is not one of -1, 0, 1, 2")
    return value


def _number(name: str, value: Any, optional: bool) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"field {name!r} must be a finite number{' or null' if optional else ''}")
    return float(value)


def _validate(name: str, value: Any) -> Any:
    """The value to store for one field, or ValueError naming the field and what it must be."""
    if name in JSON_FIELDS:
        if value is None:
            return [] if name in _LIST_FIELDS else {}
        expected: type = list if name in _LIST_FIELDS else dict
        if not isinstance(value, expected):
            raise ValueError(f"field {name!r} must be a JSON {'array' if expected is list else 'object'}")
        return value
    if name == "drift_status":
        return normalize_drift_status(value)
    if name in _STR_FIELDS:
        if not isinstance(value, str):
            raise ValueError(f"field {name!r} must be a string")
        limit: int | None = getattr(_T.c[name].type, "length", None)
        if limit is not None and len(value) > limit:
            raise ValueError(f"field {name!r} is longer than {limit} characters")
        return value
    if name == "endpoint_type" and isinstance(value, str) and value.strip().isdigit():
        value = int(value)  # MLRun <= 1.7 keeps endpoint_type as a string
    if name in _INT_FIELDS or name in _OPTIONAL_INT_FIELDS:
        if value is None and name in _OPTIONAL_INT_FIELDS:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"field {name!r} must be an integer{' (epoch ms)' if 'request' in name else ''}")
        if name == "endpoint_type" and value not in set(EndpointType):
            raise ValueError(f"field 'endpoint_type' must be one of {[int(t) for t in EndpointType]}")
        return value
    if name == "active":
        if not isinstance(value, bool):
            raise ValueError("field 'active' must be a boolean")
        return value
    if name in _FLOAT_FIELDS or name in _OPTIONAL_FLOAT_FIELDS:
        return _number(name, value, optional=name in _OPTIONAL_FLOAT_FIELDS)
    raise ValueError(f"unknown endpoint field {name!r}; known fields: {', '.join(WRITABLE_ENDPOINT_FIELDS)}")


def validate_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Check and normalise a partial update; unknown names raise ValueError naming them."""
    unknown = [name for name in fields if name not in WRITABLE_ENDPOINT_FIELDS]
    if unknown:
        raise ValueError(
            f"unknown endpoint field(s) {', '.join(map(repr, unknown))}; "
            f"known fields: {', '.join(WRITABLE_ENDPOINT_FIELDS)}"
        )
    return {name: _validate(name, value) for name, value in fields.items()}


def _check_key(project: str, uid: str) -> None:
    # The entry points check first (and name the request field); this keeps any other caller honest.
    check("project", project)
    check("endpoint_id", uid)


def _starts_with(column: ColumnElement[str], prefix: str) -> ColumnElement[bool]:
    """Case-sensitive prefix match, the same on every backend: LIKE is case-insensitive on SQLite (and
    would need escaping), a comparison of the leading characters is exact everywhere (binary, NO PAD)."""
    return func.substr(column, 1, len(prefix)) == prefix


def _uid_kept(flt: EndpointFilter | None) -> frozenset[str] | None:
    """The uid set to filter rows by when the filter's list was too long for SQL (see ``inlist``)."""
    return None if flt is None or not flt.uids else post_filter(flt.uids)


def _record(row: Row[Any]) -> EndpointRecord:
    values = dict(row._mapping)
    for name in JSON_FIELDS:
        if values[name] is None:
            values[name] = [] if name in _LIST_FIELDS else {}
    values["active"] = bool(values["active"])
    return EndpointRecord(**values)


class SqlEndpointStore:
    """``EndpointStore`` on SQL. ``series`` is the series store whose id cache a delete must invalidate."""

    def __init__(self, db: Database, series: SqlSeriesStore | None = None) -> None:
        self.db = db
        self._series = series

    def upsert(self, project: str, uid: str, fields: Mapping[str, Any]) -> EndpointRecord:
        _check_key(project, uid)
        changes = validate_fields(fields)
        defaults = EndpointRecord(project=project, uid=uid).to_dict()
        narrow = {k: v for k, v in changes.items() if k not in _DOCS}
        documents = {k: v for k, v in changes.items() if k in _DOCS}
        with self.db.write() as conn:
            # INSERT with defaults + changes; on an existing key update only the changed columns.
            conn.execute(
                self.db.upsert(_T, ("project", "uid"), lambda s: {n: self._merged(s, n) for n in narrow}),
                {k: v for k, v in defaults.items() if k not in _DOCS} | narrow,
            )
            if documents:
                conn.execute(
                    self.db.upsert(_D, ("project", "uid"), lambda s: {n: self.db.excluded(s, n) for n in documents}),
                    {k: defaults[k] for k in ("project", "uid", *schema.DOCUMENT_FIELDS)} | documents,
                )
            result = conn.execute(_FULL.where(_T.c.project == project, _T.c.uid == uid)).one()
        return _record(result)

    def _merged(self, stmt: Any, name: str) -> Any:
        """The value an upsert gives an existing row's column: the proposed one, except that the first and
        last request only ever move outwards. Several writers set them (the fold of each ingest process, a
        batch, the write API); the earliest and latest any of them saw is the record's."""
        new = self.db.excluded(stmt, name)
        if name not in ("first_request", "last_request"):
            return new
        old = _T.c[name]
        outwards = new < old if name == "first_request" else new > old
        return case((or_(old.is_(None), and_(new.is_not(None), outwards)), new), else_=old)

    def get(self, project: str, uid: str) -> EndpointRecord | None:
        with self.db.read() as conn:
            row = conn.execute(_FULL.where(_T.c.project == project, _T.c.uid == uid)).first()
        return None if row is None else _record(row)

    def _conditions(self, project: str, flt: EndpointFilter | None) -> list[ColumnElement[bool]]:
        """SQL conditions of a filter. ``model`` matches the exact value or any version of a model name
        ("m" matches "m" and "m:v2"); ``function`` matches the function URI exactly, by name with any
        tag ("serving" matches "proj/serving:latest") or as "<project>/<function>" with any tag."""
        where: list[ColumnElement[bool]] = [_T.c.project == project]
        if flt is None:
            return where
        if flt.model:
            where.append(or_(_T.c.model == flt.model, _starts_with(_T.c.model, flt.model + ":")))
        if flt.function:
            options: list[ColumnElement[bool]] = []
            for value in {flt.function, f"{project}/{flt.function}"}:
                options += [_T.c.function_uri == value, _starts_with(_T.c.function_uri, value + ":")]
            where.append(or_(*options))
        if flt.uids and (uids := sql_list(flt.uids)) is not None:
            where.append(_T.c.uid.in_(uids))
        if flt.exclude_routers:
            where.append(_T.c.endpoint_type != int(EndpointType.router))
        return where

    @staticmethod
    def _labels_match(labels: Any, wanted: Mapping[str, str]) -> bool:
        """Every wanted label key=value is present (values compared as strings, MLRun's labels may be numbers)."""
        if not isinstance(labels, dict):
            return not wanted
        return all(key in labels and str(labels[key]) == value for key, value in wanted.items())

    def records(self, project: str, flt: EndpointFilter | None = None) -> list[EndpointRecord]:
        stmt = _FULL.where(and_(*self._conditions(project, flt))).order_by(_T.c.uid)
        with self.db.read() as conn:
            rows = conn.execute(stmt).all()
        records = [_record(row) for row in rows]
        if (keep := _uid_kept(flt)) is not None:
            records = [r for r in records if r.uid in keep]
        if flt is not None and flt.labels:
            records = [r for r in records if self._labels_match(r.labels, flt.labels)]
        return records

    def summaries(self, project: str, flt: EndpointFilter | None = None) -> list[EndpointSummary]:
        prepared = _listing(_SUMMARY_FIELDS, flt)
        if prepared is not None:  # numbers and strings only: the driver's tuples are the values
            with self.db.read() as conn:
                plain = driver_rows(conn.execute(prepared, {"project": project, "uids": list(flt.uids if flt else ())}))
            return [EndpointSummary(*row) for row in plain]
        wanted = flt.labels if flt is not None else {}
        columns = [_T.c[name] for name in _SUMMARY_FIELDS]
        if wanted:
            columns.append(_T.c.labels)  # only a label filter pays for reading the labels column
        stmt = select(*columns).where(and_(*self._conditions(project, flt))).order_by(_T.c.uid)
        with self.db.read() as conn:
            rows = conn.execute(stmt).all()
        if wanted:
            rows = [row for row in rows if self._labels_match(row[-1], wanted)]
        width = len(_SUMMARY_FIELDS)
        summaries = [EndpointSummary(*row[:width]) for row in rows]
        if (keep := _uid_kept(flt)) is not None:
            summaries = [s for s in summaries if s.uid in keep]
        return summaries

    def summary_rows(self, project: str, flt: EndpointFilter | None, fields: Sequence[str]) -> list[tuple[Any, ...]]:
        unknown = [name for name in fields if name not in _SUMMARY_SET]
        if unknown:
            raise ValueError(f"not summary fields: {', '.join(unknown)}")
        prepared = _listing(fields, flt)
        if prepared is not None:
            with self.db.read() as conn:
                return driver_rows(conn.execute(prepared, {"project": project, "uids": list(flt.uids if flt else ())}))
        wanted = flt.labels if flt is not None else {}
        keep = _uid_kept(flt)
        columns = [_T.c[name] for name in fields]
        if keep is not None:
            columns.append(_T.c.uid)
        if wanted:
            columns.append(_T.c.labels)
        stmt = select(*columns).where(and_(*self._conditions(project, flt))).order_by(_T.c.uid)
        with self.db.read() as conn:
            result = conn.execute(stmt)
            if not wanted and keep is None:  # numbers and strings only: the driver's tuples are the values
                return driver_rows(result)
            rows = result.all()  # the labels column is JSON: SQLAlchemy parses it
        width = len(fields)
        if keep is not None:
            rows = [row for row in rows if row[width] in keep]
        return [tuple(row[:width]) for row in rows if not wanted or self._labels_match(row[-1], wanted)]

    def uids(self, project: str) -> list[str]:
        with self.db.read() as conn:
            return list(conn.scalars(select(_T.c.uid).where(_T.c.project == project).order_by(_T.c.uid)))

    def projects(self) -> list[str]:
        with self.db.read() as conn:
            return list(conn.scalars(select(_T.c.project).distinct().order_by(_T.c.project)))

    def delete(self, project: str, uid: str) -> bool:
        """Remove the record with its series, points, rollups and results in one transaction."""
        series_ids = select(schema.series.c.id).where(
            schema.series.c.project == project, schema.series.c.endpoint_uid == uid
        )
        with self.db.write() as conn:
            ids = list(conn.scalars(series_ids))
            for table in (schema.points, schema.rollup_10m, schema.rollup_1h, schema.rollup_1d):
                for start in range(0, len(ids), 500):
                    conn.execute(delete(table).where(table.c.series_id.in_(ids[start : start + 500])))
            for part in chunks(ids):
                conn.execute(delete(schema.series).where(schema.series.c.id.in_(part)))
            results = schema.app_results
            conn.execute(delete(results).where(results.c.project == project, results.c.endpoint_uid == uid))
            conn.execute(delete(_D).where(_D.c.project == project, _D.c.uid == uid))
            existed = conn.execute(delete(_T).where(_T.c.project == project, _T.c.uid == uid)).rowcount > 0
        if self._series is not None:
            self._series.forget(project, uid)
        return existed


assert set(_SUMMARY_FIELDS) <= set(ENDPOINT_FIELDS)
