"""Database fixtures shared by every test.

- ``db_url``: a fresh, empty database on each backend — ``sqlite`` (temp file), ``postgresql`` (an
  empty schema in a ``gp_test_<hex>`` database made once per session) and ``mariadb`` (a
  ``gp_test_<hex>`` database per test); all dropped afterwards. A server that
  cannot be reached FAILS the test with the command that starts it; it is never skipped.
- ``stores``: ``open_stores`` on ``db_url`` (so parametrized over the three backends).
- ``sqlite_stores``: the embedded default only, for tests that do not care about the backend.
Engines are disposed after each test."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import OperationalError

from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Stores
from grafana_proxy.stores.engine import close_stores, open_stores
from tests.servers import PrivateNats

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MARIADB_ADMIN_URL = "mysql+pymysql://root@127.0.0.1:3306/test?charset=utf8mb4"
PG_START = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
MARIADB_START = "start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd"
BACKENDS = ("sqlite", "postgresql", "mariadb")


def _server_database(admin_url: str, start_hint: str, backend: str) -> Iterator[str]:
    """Create ``gp_test_<hex>`` on a server, yield its URL, drop it afterwards."""
    name = f"gp_test_{secrets.token_hex(6)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if backend == "postgresql":
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            else:
                conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    except OperationalError as error:
        admin.dispose()
        pytest.fail(
            f"{backend} is not reachable at {admin.url.render_as_string(hide_password=True)} ({error.orig}).\n"
            f"Start it with: {start_hint}",
            pytrace=False,
        )
    try:
        yield str(admin.url.set(database=name).render_as_string(hide_password=False))
    finally:
        with admin.connect() as conn:
            if backend == "postgresql":
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            else:
                conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()


@pytest.fixture(scope="session")
def _pg_database() -> Iterator[str]:
    """One ``gp_test_<hex>`` PostgreSQL database per session: CREATE DATABASE costs about a second
    here, so each test gets its own schema inside it instead (see ``db_url``)."""
    yield from _server_database(PG_ADMIN_URL, PG_START, "postgresql")


def _pg_schema(database_url: str) -> Iterator[str]:
    """A fresh schema ``gp_test_<hex>`` in the session database, made the connection's search_path so
    the stores (and Alembic) see an empty database; dropped with everything in it afterwards."""
    name = f"gp_test_{secrets.token_hex(6)}"
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{name}"'))
        url = make_url(database_url).update_query_dict({"options": f"-csearch_path={name}"})
        yield url.render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
    finally:
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of an empty database on each backend in turn (PostgreSQL: an empty schema of the session's
    own database, reached through ``search_path``)."""
    backend: str = request.param
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'db' / 'grafana-proxy.db'}"
    elif backend == "postgresql":
        yield from _pg_schema(request.getfixturevalue("_pg_database"))
    else:
        yield from _server_database(MARIADB_ADMIN_URL, MARIADB_START, backend)


@pytest.fixture
def stores(db_url: str, tmp_path: Path) -> Iterator[Stores]:
    """Migrated stores on each backend in turn."""
    opened = open_stores(Settings(db_url=db_url, data_dir=tmp_path / "data"))
    try:
        yield opened
    finally:
        close_stores(opened)


@pytest.fixture
def sqlite_stores(tmp_path: Path) -> Iterator[Stores]:
    """Migrated stores on the embedded default (SQLite file in a temp data dir)."""
    opened = open_stores(Settings(db_url=None, data_dir=tmp_path / "data"))
    try:
        yield opened
    finally:
        close_stores(opened)


@pytest.fixture
def stream_settings() -> Iterator[dict[str, str]]:
    """Settings of a stream of the test's own on the machine's NATS (JetStream on 127.0.0.1:4222): a
    unique stream name, subject prefix and consumer, deleted afterwards. NATS down FAILS the test."""
    import asyncio
    import socket

    from tests.servers import NATS_START, NATS_URL

    try:
        socket.create_connection(("127.0.0.1", 4222), timeout=2).close()
    except OSError as error:
        pytest.fail(f"NATS is not reachable at {NATS_URL} ({error}).\nStart it with: {NATS_START}", pytrace=False)
    token = secrets.token_hex(4)
    settings = {
        "stream_url": NATS_URL,
        "stream_name": f"GP_TEST_{token}",
        "stream_subject_prefix": f"gp-test-{token}",
        "stream_consumer": f"gp-test-{token}",
    }
    yield settings

    async def _delete() -> None:
        import nats
        from nats.js.errors import NotFoundError

        client = await nats.connect(NATS_URL, connect_timeout=2)
        try:
            await client.jetstream().delete_stream(settings["stream_name"])
        except NotFoundError:
            pass
        finally:
            await client.close()

    asyncio.run(_delete())


@pytest.fixture
def private_nats(tmp_path: Path) -> Iterator[PrivateNats]:
    """A nats-server of the test's own (stop and start it for an outage); killed afterwards."""
    server = PrivateNats(tmp_path / "nats")
    server.start()
    try:
        yield server
    finally:
        server.stop()
