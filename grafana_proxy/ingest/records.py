"""Reading the event-log record format back: the one decoder of what ``raw_record`` (events API) and
``events_record`` (gateway) in ``grafana_proxy.ingest.inbox`` write, shared by the spool fold and the
JetStream consumer, whose message payloads are exactly such records."""

from __future__ import annotations

import sys
from typing import Any

import orjson

from grafana_proxy.ingest.events import parse_batch
from grafana_proxy.model import NormalEvent


def events_of(record: Any) -> list[NormalEvent]:
    """A parsed record's events: a raw batch from the events API, or normalised events (gateway, tests)."""
    if isinstance(record, dict):
        return parse_batch(record["project"], record["batch"], sys.maxsize)
    return [NormalEvent.from_json(d) for d in record]


def decode_record(payload: bytes) -> list[NormalEvent]:
    """The events of one record's bytes; raises (``orjson.JSONDecodeError``, ``InvalidEvent``, ...) on a
    record that cannot be read: such a record is poison, not an outage."""
    return events_of(orjson.loads(payload))
