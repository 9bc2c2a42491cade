"""The event log's errors, in a module that imports nothing: the events route catches them in every
mode, and the embedded (spool) mode must not load nats-py for that."""

from __future__ import annotations


class StreamUnavailable(Exception):
    """NATS or the stream cannot take or hand out batches now (down, unreachable, timed out)."""


class StreamMisconfigured(Exception):
    """The stream exists with a layout this service cannot use; the message names the difference."""


class EventTooLarge(ValueError):
    """One event is larger than the largest message NATS accepts (its ``max_payload``): no split of
    the batch can carry it."""
