"""The services the JetStream rows (J1-J3) need: whether NATS and PostgreSQL answer, and a stream of
the run's own (its name, subjects and durable consumer in the roles' environment), deleted afterwards."""

from __future__ import annotations

import asyncio
import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import nats
import psycopg
from nats.js.errors import NotFoundError

NATS_URL = "nats://127.0.0.1:4222"


def nats_missing(url: str) -> str | None:
    """None when something accepts connections at ``url``, else why the JetStream rows are not measured."""
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 4222), timeout=2).close()
    except OSError as error:
        return f"NATS unavailable at {url} ({type(error).__name__}: {error})"
    return None


def postgres_missing(admin_url: str) -> str | None:
    """None when PostgreSQL answers at ``admin_url`` (a libpq URL), else why."""
    try:
        with psycopg.connect(admin_url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        first = str(error).strip().splitlines()[0][:160] if str(error).strip() else ""
        return f"PostgreSQL unavailable at {admin_url} ({type(error).__name__}: {first})"
    return None


@contextmanager
def scratch_stream(url: str) -> Iterator[dict[str, str]]:
    """Settings (as ``GRAFANA_PROXY_*`` environment) for a stream of the run's own on ``url``; the roles
    create it on first use, and it is deleted (with its consumer and messages) when the block ends."""
    token = secrets.token_hex(4)
    env = {
        "GRAFANA_PROXY_STREAM_URL": url,
        "GRAFANA_PROXY_STREAM_NAME": f"GP_BENCH_{token}",
        "GRAFANA_PROXY_STREAM_SUBJECT_PREFIX": f"gp-bench-{token}",
        "GRAFANA_PROXY_STREAM_CONSUMER": f"gp-bench-{token}",
    }
    try:
        yield env
    finally:
        delete_stream(url, env["GRAFANA_PROXY_STREAM_NAME"])


def delete_stream(url: str, name: str) -> None:
    async def delete() -> None:
        client = await nats.connect(url, connect_timeout=2, allow_reconnect=False)
        try:
            await client.jetstream().delete_stream(name)
        except NotFoundError:
            pass
        finally:
            await client.close()

    asyncio.run(delete())
