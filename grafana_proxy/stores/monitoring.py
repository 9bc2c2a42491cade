"""SQL store of per-project monitoring: a project's settings, its applications, what the controller did
with each application, and submitted batches. It shares the engine of an opened ``Stores`` bundle:
``stores.monitoring``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import case, delete, select, update

from grafana_proxy.model import ApplicationConfig, ApplicationStatus, Batch, ProjectMonitoring
from grafana_proxy.stores import schema
from grafana_proxy.stores.db import Database

_P = schema.monitoring_projects
_A = schema.monitoring_applications
_S = schema.monitoring_app_status
_B = schema.monitoring_batches
_ERROR_CHARS = 4000


def _app(row: Any) -> ApplicationConfig:
    endpoints = row.endpoints
    return ApplicationConfig(
        project=row.project,
        name=row.name,
        application=row.application,
        params=dict(row.params or {}),
        endpoints=None if endpoints is None else tuple(str(u) for u in endpoints),
        updated_at=int(row.updated_at),
    )


def _batch(row: Any) -> Batch:
    return Batch(
        project=row.project,
        batch_id=row.batch_id,
        endpoint_uid=row.endpoint_uid,
        start_ms=int(row.start_ms),
        end_ms=int(row.end_ms),
        rows=int(row.rows),
        submitted_at=int(row.submitted_at),
        analysed_at=None if row.analysed_at is None else int(row.analysed_at),
    )


class SqlMonitoringStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- project settings ------------------------------------------------------------------------------

    def project(self, project: str) -> ProjectMonitoring | None:
        with self.db.read() as conn:
            row = conn.execute(select(_P).where(_P.c.project == project)).first()
        if row is None:
            return None
        return ProjectMonitoring(row.project, bool(row.enabled), float(row.base_period_minutes), int(row.updated_at))

    def projects(self) -> dict[str, ProjectMonitoring]:
        with self.db.read() as conn:
            rows = conn.execute(select(_P)).all()
        return {
            r.project: ProjectMonitoring(r.project, bool(r.enabled), float(r.base_period_minutes), int(r.updated_at))
            for r in rows
        }

    def put_project(self, settings: ProjectMonitoring, defaults: Sequence[ApplicationConfig] = ()) -> bool:
        """Store a project's settings; True when the project had none. ``defaults`` are set as its
        applications when it has none yet (the project starts from the global application list)."""
        row = {
            "project": settings.project,
            "enabled": settings.enabled,
            "base_period_minutes": settings.base_period_minutes,
            "updated_at": settings.updated_at,
        }
        with self.db.write() as conn:
            created = conn.execute(select(_P.c.project).where(_P.c.project == settings.project)).first() is None
            conn.execute(self.db.upsert(_P, ("project",)), [row])
            has_apps = conn.execute(select(_A.c.name).where(_A.c.project == settings.project).limit(1)).first()
            if created and has_apps is None and defaults:
                conn.execute(self.db.insert_ignore(_A, ("project", "name")), [_app_row(a) for a in defaults])
        return created

    # -- applications ----------------------------------------------------------------------------------

    def applications(self, project: str) -> list[ApplicationConfig]:
        with self.db.read() as conn:
            return [_app(r) for r in conn.execute(select(_A).where(_A.c.project == project).order_by(_A.c.name))]

    def application(self, project: str, name: str) -> ApplicationConfig | None:
        with self.db.read() as conn:
            row = conn.execute(select(_A).where(_A.c.project == project, _A.c.name == name)).first()
        return None if row is None else _app(row)

    def put_application(self, config: ApplicationConfig) -> None:
        with self.db.write() as conn:
            conn.execute(self.db.upsert(_A, ("project", "name")), [_app_row(config)])

    def delete_application(self, project: str, name: str) -> bool:
        """Remove the application (its results and status stay, for the record)."""
        with self.db.write() as conn:
            done = conn.execute(delete(_A).where(_A.c.project == project, _A.c.name == name))
        return bool(done.rowcount)

    # -- what the controller did -----------------------------------------------------------------------

    def statuses(self, project: str) -> dict[str, ApplicationStatus]:
        with self.db.read() as conn:
            rows = conn.execute(select(_S).where(_S.c.project == project)).all()
        return {
            r.name: ApplicationStatus(
                name=r.name,
                last_run=r.last_run,
                last_window_end=r.last_window_end,
                windows=int(r.windows),
                results=int(r.results),
                errors=int(r.errors),
                last_error=r.last_error,
                last_error_at=r.last_error_at,
            )
            for r in rows
        }

    def record_run(
        self,
        project: str,
        name: str,
        ran_at: int,
        windows: int,
        results: int,
        errors: int,
        last_window_end: int | None,
        last_error: str | None,
    ) -> None:
        """Add one pass's counts to an application's status (controllers sharing the work each add theirs)."""
        key = (_S.c.project == project) & (_S.c.name == name)
        with self.db.write() as conn:
            current = conn.execute(select(_S).where(key)).first()
            if current is None:
                conn.execute(
                    self.db.insert_ignore(_S, ("project", "name")),
                    [{"project": project, "name": name, "windows": 0, "results": 0, "errors": 0}],
                )
            values: dict[str, Any] = {
                "last_run": ran_at,
                "windows": _S.c.windows + windows,
                "results": _S.c.results + results,
                "errors": _S.c.errors + errors,
            }
            if last_window_end is not None:  # the newest of every controller's (several share the work)
                newer = _S.c.last_window_end.is_(None) | (_S.c.last_window_end < last_window_end)
                values["last_window_end"] = case((newer, last_window_end), else_=_S.c.last_window_end)
            if last_error is not None:
                values["last_error"] = last_error[:_ERROR_CHARS]
                values["last_error_at"] = ran_at
            conn.execute(update(_S).where(key).values(**values))

    # -- batches ---------------------------------------------------------------------------------------

    def add_batch(self, batch: Batch) -> None:
        row = {name: getattr(batch, name) for name in Batch.__dataclass_fields__}
        with self.db.write() as conn:
            conn.execute(self.db.upsert(_B, ("project", "batch_id")), [row])

    def batches(self, project: str, endpoint_uid: str | None = None, pending_only: bool = False) -> list[Batch]:
        stmt = select(_B).where(_B.c.project == project)
        if endpoint_uid is not None:
            stmt = stmt.where(_B.c.endpoint_uid == endpoint_uid)
        if pending_only:
            stmt = stmt.where(_B.c.analysed_at.is_(None))
        with self.db.read() as conn:
            return [_batch(r) for r in conn.execute(stmt.order_by(_B.c.submitted_at, _B.c.batch_id))]

    def batch(self, project: str, batch_id: str) -> Batch | None:
        with self.db.read() as conn:
            row = conn.execute(select(_B).where(_B.c.project == project, _B.c.batch_id == batch_id)).first()
        return None if row is None else _batch(row)

    def pending_batches(self) -> list[int]:
        with self.db.read() as conn:
            return [int(t) for (t,) in conn.execute(select(_B.c.submitted_at).where(_B.c.analysed_at.is_(None)))]

    def mark_analysed(self, project: str, batch_id: str, when: int) -> None:
        with self.db.write() as conn:
            conn.execute(update(_B).where(_B.c.project == project, _B.c.batch_id == batch_id).values(analysed_at=when))


def _app_row(config: ApplicationConfig) -> dict[str, Any]:
    return {
        "project": config.project,
        "name": config.name,
        "application": config.application,
        "params": dict(config.params),
        "endpoints": None if config.endpoints is None else list(config.endpoints),
        "updated_at": config.updated_at,
    }
