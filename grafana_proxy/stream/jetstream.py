"""Connecting to NATS and making sure the stream exists with the configuration the settings ask for.

The service creates a missing stream. An existing stream whose subjects, retention or storage differ
is refused with one line naming the difference (changing those in place would mix two layouts); limits
the settings own (max age, max bytes, duplicate window, replicas) are updated to the settings' values."""

from __future__ import annotations

import logging
from typing import Any

import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StorageType
from nats.js.api import StreamConfig as JsStreamConfig
from nats.js.errors import NotFoundError

from grafana_proxy.stream.config import StreamConfig
from grafana_proxy.stream.errors import StreamMisconfigured, StreamUnavailable

__all__ = [
    "CONNECT_TIMEOUT_SECONDS",
    "StreamMisconfigured",
    "StreamUnavailable",
    "connect",
    "desired_stream",
    "ensure_stream",
]
log = logging.getLogger(__name__)
CONNECT_TIMEOUT_SECONDS = 2.0


async def connect(config: StreamConfig, name: str, **options: Any) -> NATS:
    """A client that reconnects for ever in the background: an outage turns into errors on the calls
    made during it (bounded by their timeouts), never into a process that must be restarted. ``options``
    go to nats-py and win over these (a short-lived client gives up instead: ``max_reconnect_attempts``)."""
    reconnecting: dict[str, Any] = {"allow_reconnect": True, "max_reconnect_attempts": -1, "reconnect_time_wait": 0.5}
    try:
        return await nats.connect(
            servers=config.servers,
            name=name,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            **(reconnecting | options),
        )
    except Exception as error:  # nats-py raises several kinds here (NoServersError, OSError, timeouts)
        raise StreamUnavailable(f"cannot reach NATS at {config.stream_url} ({error or type(error).__name__})") from None


def desired_stream(config: StreamConfig) -> JsStreamConfig:
    return JsStreamConfig(
        name=config.stream_name,
        subjects=[config.subjects],
        # Each batch goes to one ingest process and leaves the stream once acknowledged.
        retention=RetentionPolicy.WORK_QUEUE,
        storage=StorageType.FILE,
        num_replicas=config.stream_replicas,
        max_age=config.stream_max_age_hours * 3600,
        max_bytes=config.stream_max_bytes,
        duplicate_window=config.stream_duplicate_window_seconds,
    )


async def ensure_stream(js: JetStreamContext, config: StreamConfig) -> None:
    """Create the stream if it is missing; check (and bring its limits to the settings) if it exists."""
    desired = desired_stream(config)
    try:
        info = await js.stream_info(config.stream_name)
    except NotFoundError:
        await js.add_stream(desired)
        log.info("created JetStream stream %s on %s", config.stream_name, config.subjects)
        return
    current = info.config
    wrong = [
        f"{what} is {have!r}, the settings need {want!r}"
        for what, have, want in (
            ("subjects", current.subjects, desired.subjects),
            ("retention", current.retention, desired.retention),
            ("storage", current.storage, desired.storage),
        )
        if have != want
    ]
    if wrong:
        raise StreamMisconfigured(
            f"JetStream stream {config.stream_name} exists but its {'; '.join(wrong)}: "
            "set GRAFANA_PROXY_STREAM_NAME to another name, or delete the stream"
        )
    limits = ("num_replicas", "max_age", "max_bytes", "duplicate_window")
    if any(getattr(current, k) != getattr(desired, k) for k in limits):
        await js.update_stream(desired)
        log.info("updated the limits of JetStream stream %s to the settings", config.stream_name)
