"""SQL store of controller leases (``LeaseStore`` in ``stores/base.py``): which controller holds which unit
of monitoring work until when, and the writes fenced by a lease.

- Claiming is one write transaction: the free rows (expired, or never held) are read with ``FOR UPDATE
  SKIP LOCKED`` on PostgreSQL and MariaDB, so two controllers claiming at once get different units and
  neither waits for the other; SQLite has one writer at a time (``BEGIN IMMEDIATE``), which gives the
  same answer.
- Times come from the database's clock, so controllers on machines whose clocks differ agree on when a
  lease expires.
- A fenced write (schedule advance, batch done) first renews the lease with an ``UPDATE ... WHERE holder
  AND token``: the row lock it takes orders it with any claim, so either the write commits before the
  unit is taken over, or it matches no row and writes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, select, text, update

from grafana_proxy.stores import schema
from grafana_proxy.stores.base import Lease
from grafana_proxy.stores.db import Database
from grafana_proxy.stores.ground_truth import advance_schedule
from grafana_proxy.stores.inlist import chunks

_L = schema.controller_leases
_B = schema.monitoring_batches

# Epoch milliseconds on the database server's clock.
_NOW = {
    "postgresql": "SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
    "mysql": "SELECT CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)",
    "sqlite": "SELECT CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)",
}


def _lease(row: Any) -> Lease:
    return Lease(row.project, row.unit, row.holder, int(row.token), int(row.expires_ms))


class SqlLeaseStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._now_sql = text(_NOW[db.dialect])

    def now(self, conn: Connection) -> int:
        return int(conn.execute(self._now_sql).scalar_one())

    def claim(self, project: str, units: Sequence[str], holder: str, limit: int, lease_ms: int) -> list[Lease]:
        wanted = sorted(set(units))
        if not wanted or limit < 1:
            return []
        for part in chunks(wanted):
            self._ensure(project, part)
        with self.db.write() as conn:
            now = self.now(conn)
            got: list[tuple[str, int]] = []
            for part in chunks(wanted):
                stmt = (
                    select(_L.c.unit, _L.c.token)
                    .where(_L.c.project == project, _L.c.unit.in_(part), _L.c.expires_ms <= now)
                    .order_by(_L.c.unit)
                    .limit(limit - len(got))
                    .with_for_update(skip_locked=True)
                )
                got += [(str(unit), int(token)) for unit, token in conn.execute(stmt)]
                if len(got) >= limit:
                    break
            if not got:
                return []
            expires = now + lease_ms
            for part in chunks([unit for unit, _ in got]):
                conn.execute(
                    update(_L)
                    .where(_L.c.project == project, _L.c.unit.in_(part))
                    .values(holder=holder, token=_L.c.token + 1, expires_ms=expires, claimed_at=now)
                )
        return [Lease(project, unit, holder, token + 1, expires) for unit, token in got]

    def _ensure(self, project: str, units: Sequence[str]) -> None:
        """Rows for units that have none yet, free (expired at 0). Sorted, so two controllers inserting the
        same new units take their key locks in the same order."""
        with self.db.read() as conn:
            have = {u for (u,) in conn.execute(select(_L.c.unit).where(_L.c.project == project, _L.c.unit.in_(units)))}
        rows = [
            {"project": project, "unit": u, "holder": "", "token": 0, "expires_ms": 0} for u in units if u not in have
        ]
        if rows:
            with self.db.write() as conn:
                conn.execute(self.db.insert_ignore(_L, ("project", "unit")), rows)

    def _hold(self, conn: Connection, lease: Lease, lease_ms: int) -> int | None:
        """Renew ``lease`` inside ``conn``'s transaction; the new expiry, or None when it was taken over."""
        expires = self.now(conn) + lease_ms
        done = conn.execute(
            update(_L)
            .where(
                _L.c.project == lease.project,
                _L.c.unit == lease.unit,
                _L.c.holder == lease.holder,
                _L.c.token == lease.token,
            )
            .values(expires_ms=expires)
        )
        return expires if done.rowcount == 1 else None

    def renew(self, lease: Lease, lease_ms: int) -> Lease | None:
        with self.db.write() as conn:
            expires = self._hold(conn, lease, lease_ms)
        if expires is None:
            return None
        return Lease(lease.project, lease.unit, lease.holder, lease.token, expires)

    def release(self, leases: Sequence[Lease], forget: bool = False) -> None:
        if not leases:
            return
        with self.db.write() as conn:
            for lease in leases:
                # Only the holder's own lease: one taken over meanwhile belongs to another controller now.
                mine = (_L.c.project == lease.project) & (_L.c.unit == lease.unit) & (_L.c.token == lease.token)
                mine &= _L.c.holder == lease.holder
                conn.execute(delete(_L).where(mine) if forget else update(_L).where(mine).values(expires_ms=0))

    def advance(self, lease: Lease, application: str, endpoint_uid: str, end_ms: int, lease_ms: int) -> bool:
        with self.db.write() as conn:
            if self._hold(conn, lease, lease_ms) is None:
                return False
            advance_schedule(self.db, conn, lease.project, application, endpoint_uid, end_ms)
        return True

    def finish_batch(self, lease: Lease, batch_id: str, when: int) -> bool:
        with self.db.write() as conn:
            if self._hold(conn, lease, 0) is None:
                return False
            conn.execute(
                update(_B).where(_B.c.project == lease.project, _B.c.batch_id == batch_id).values(analysed_at=when)
            )
            conn.execute(delete(_L).where(_L.c.project == lease.project, _L.c.unit == lease.unit))
        return True

    def leases(self, project: str | None = None) -> list[Lease]:
        stmt = select(_L).order_by(_L.c.project, _L.c.unit)
        if project is not None:
            stmt = stmt.where(_L.c.project == project)
        with self.db.read() as conn:
            return [_lease(r) for r in conn.execute(stmt)]
