"""The plain SQL audit table of the monitor gateway document: one row per call (``--table``).

Deliberately outside the stores' schema and migrations: its name and database (``DB_URL``) belong to the
user, who reads it with their own tools. Created if missing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
)
from sqlalchemy.dialects import mysql

from grafana_proxy.stores.engine import create_db_engine

# MySQL's TEXT stops at 64 KiB; model payloads can be larger.
_LONG_TEXT = Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")


@dataclass(frozen=True)
class CallRow:
    timestamp: int  # epoch ms
    method: str
    path: str
    status: int
    request: str
    response: str
    latency: float  # microseconds
    request_id: str


class CallTable:
    def __init__(self, db_url: str, name: str) -> None:
        self._engine = create_db_engine(db_url)
        metadata = MetaData()
        self._table = Table(
            name,
            metadata,
            Column(
                "id",
                BigInteger().with_variant(Integer, "sqlite"),
                primary_key=True,
                autoincrement=True,
            ),
            Column("time", DateTime(timezone=True), nullable=False, index=True),
            Column("request_id", String(128), nullable=False),
            Column("method", String(16), nullable=False),
            Column("path", String(2048), nullable=False),
            Column("status", Integer, nullable=False),
            Column("latency", Float, nullable=False, comment="microseconds"),
            Column("request", _LONG_TEXT),
            Column("response", _LONG_TEXT),
        )
        metadata.create_all(self._engine, checkfirst=True)

    def write(self, rows: Sequence[CallRow]) -> None:
        if not rows:
            return
        values = [
            {
                "time": datetime.fromtimestamp(r.timestamp / 1000, tz=UTC),
                "request_id": r.request_id,
                "method": r.method,
                "path": r.path[:2048],
                "status": r.status,
                "latency": r.latency,
                "request": r.request,
                "response": r.response,
            }
            for r in rows
        ]
        with self._engine.begin() as conn:
            conn.execute(insert(self._table), values)

    def close(self) -> None:
        self._engine.dispose()
