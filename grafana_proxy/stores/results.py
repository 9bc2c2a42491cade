"""Monitoring-application results (MLRun's ``app_results``): one row per (endpoint, application, result
name, window end); writing the same key again replaces the earlier verdict."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, func, select

from grafana_proxy.model import AppResult, TimeRange
from grafana_proxy.stores import schema
from grafana_proxy.stores.db import Database
from grafana_proxy.stores.inlist import post_filter, sql_list

_R = schema.app_results
_KEY = ("project", "endpoint_uid", "application", "name", "end_infer_time")
_VALUES = ("kind", "status", "value", "start_infer_time", "extra_data")
_COLUMNS = (
    _R.c.endpoint_uid,
    _R.c.application,
    _R.c.name,
    _R.c.kind,
    _R.c.status,
    _R.c.value,
    _R.c.start_infer_time,
    _R.c.end_infer_time,
    _R.c.extra_data,
)


def _check(project: str, result: AppResult) -> dict[str, Any]:
    """The row for a result, or ValueError naming the bad field."""
    for field, text, limit in (
        ("project", project, schema.PROJECT_LEN),
        ("endpoint_uid", result.endpoint_uid, schema.UID_LEN),
        ("application", result.application, schema.APP_LEN),
        ("name", result.name, schema.NAME_LEN),
    ):
        if not isinstance(text, str) or not text or len(text) > limit:
            raise ValueError(f"result field {field!r} must be a string of 1 to {limit} characters")
    for field in ("kind", "status", "start_infer_time", "end_infer_time"):
        number = getattr(result, field)
        if isinstance(number, bool) or not isinstance(number, int):
            raise ValueError(f"result field {field!r} must be an integer")
    if isinstance(result.value, bool) or not isinstance(result.value, int | float) or not math.isfinite(result.value):
        raise ValueError("result field 'value' must be a finite number")
    if not isinstance(result.extra_data, dict):
        raise ValueError("result field 'extra_data' must be a JSON object")
    return {
        "project": project,
        "endpoint_uid": result.endpoint_uid,
        "application": result.application,
        "name": result.name,
        "kind": result.kind,
        "status": result.status,
        "value": float(result.value),
        "start_infer_time": result.start_infer_time,
        "end_infer_time": result.end_infer_time,
        "extra_data": result.extra_data,
    }


def _kept(results: list[AppResult], uids: frozenset[str] | None, names: frozenset[str] | None) -> list[AppResult]:
    """The results within lists too long for an IN in SQL (see ``inlist``)."""
    if uids is None and names is None:
        return results
    return [r for r in results if (uids is None or r.endpoint_uid in uids) and (names is None or r.name in names)]


def _result(row: Sequence[Any]) -> AppResult:
    (uid, app, name, kind, status, value, start, end, extra) = row
    return AppResult(
        endpoint_uid=uid,
        application=app,
        name=name,
        kind=kind,
        status=status,
        value=value,
        start_infer_time=start,
        end_infer_time=end,
        extra_data=extra or {},
    )


class SqlResultStore:
    """``ResultStore`` on SQL."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def write(self, project: str, results: Sequence[AppResult]) -> int:
        rows = [_check(project, r) for r in results]
        if not rows:
            return 0
        stmt = self.db.upsert(_R, _KEY, lambda s: {c: self.db.excluded(s, c) for c in _VALUES})
        with self.db.write() as conn:
            conn.execute(stmt, rows)
        return len(rows)

    def query(
        self,
        project: str,
        time_range: TimeRange,
        endpoint_uids: Sequence[str] | None = None,
        application: str | None = None,
        names: Sequence[str] | None = None,
        min_status: int | None = None,
    ) -> list[AppResult]:
        stmt = select(*_COLUMNS).where(
            _R.c.project == project, _R.c.end_infer_time >= time_range.start, _R.c.end_infer_time < time_range.end
        )
        keep_uids, keep_names = post_filter(endpoint_uids), post_filter(names)
        if (uid_list := sql_list(endpoint_uids)) is not None:
            stmt = stmt.where(_R.c.endpoint_uid.in_(uid_list))
        if application is not None:
            stmt = stmt.where(_R.c.application == application)
        if (name_list := sql_list(names)) is not None:
            stmt = stmt.where(_R.c.name.in_(name_list))
        if min_status is not None:
            stmt = stmt.where(_R.c.status >= min_status)
        stmt = stmt.order_by(_R.c.end_infer_time, _R.c.endpoint_uid, _R.c.application, _R.c.name)
        with self.db.read() as conn:
            results = [_result(row) for row in conn.execute(stmt)]
        return _kept(results, keep_uids, keep_names)

    def latest(
        self, project: str, endpoint_uids: Sequence[str] | None = None, application: str | None = None
    ) -> list[AppResult]:
        where = [_R.c.project == project]
        keep_uids = post_filter(endpoint_uids)
        if (uid_list := sql_list(endpoint_uids)) is not None:
            where.append(_R.c.endpoint_uid.in_(uid_list))
        if application is not None:
            where.append(_R.c.application == application)
        newest = (
            select(_R.c.endpoint_uid, _R.c.application, _R.c.name, func.max(_R.c.end_infer_time).label("t"))
            .where(*where)
            .group_by(_R.c.endpoint_uid, _R.c.application, _R.c.name)
            .subquery()
        )
        stmt = (
            select(*_COLUMNS)
            .join(
                newest,
                and_(
                    _R.c.endpoint_uid == newest.c.endpoint_uid,
                    _R.c.application == newest.c.application,
                    _R.c.name == newest.c.name,
                    _R.c.end_infer_time == newest.c.t,
                ),
            )
            .where(_R.c.project == project)
            .order_by(_R.c.endpoint_uid, _R.c.application, _R.c.name)
        )
        with self.db.read() as conn:
            results = [_result(row) for row in conn.execute(stmt)]
        return _kept(results, keep_uids, None)

    def applications(self, project: str, endpoint_uid: str | None = None) -> list[str]:
        stmt = select(_R.c.application).distinct().where(_R.c.project == project)
        if endpoint_uid is not None:
            stmt = stmt.where(_R.c.endpoint_uid == endpoint_uid)
        with self.db.read() as conn:
            return list(conn.scalars(stmt.order_by(_R.c.application)))

    def names(self, project: str, endpoint_uid: str | None = None, application: str | None = None) -> list[str]:
        stmt = select(_R.c.name).distinct().where(_R.c.project == project)
        if endpoint_uid is not None:
            stmt = stmt.where(_R.c.endpoint_uid == endpoint_uid)
        if application is not None:
            stmt = stmt.where(_R.c.application == application)
        with self.db.read() as conn:
            return list(conn.scalars(stmt.order_by(_R.c.name)))
