"""``IN (...)`` lists under every backend's bound-parameter limit.

PostgreSQL takes at most 65,535 bound parameters per statement, SQLite 32,766 (its default
SQLITE_MAX_VARIABLE_NUMBER since 3.32) and MariaDB 65,535 per prepared statement. A list longer than
``MAX_IN_VALUES`` is either split into several statements (writes, lookups by key) or left out of the SQL
and applied to the rows read (queries whose rows carry the value), so a panel asking for 100,000 endpoint
uids gets its answer instead of "database unavailable"."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")

# Far below every limit above, leaving room for a statement's other parameters.
MAX_IN_VALUES = 5_000


def sql_list(values: Sequence[T] | None) -> list[T] | None:
    """The values for an ``IN`` in SQL, or None when there are too many (or no filter was asked): the
    caller then reads without that condition and keeps the rows whose value is in ``post_filter``."""
    if values is None or len(values) > MAX_IN_VALUES:
        return None
    return list(values)


def post_filter(values: Sequence[T] | None) -> frozenset[T] | None:
    """The set to filter read rows by when ``sql_list`` left the condition out, else None."""
    if values is None or len(values) <= MAX_IN_VALUES:
        return None
    return frozenset(values)


def chunks(values: Sequence[T], size: int = MAX_IN_VALUES) -> Iterator[list[T]]:
    """Consecutive slices of at most ``size`` values (one statement each)."""
    for start in range(0, len(values), size):
        yield list(values[start : start + size])
