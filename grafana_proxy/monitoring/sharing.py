"""How several controllers share a pass: work-stealing over leases in the database.

A pass's work is cut into units: an endpoint (its due windows) or a submitted batch. Each controller
claims a few free units at a time, analyses them and releases them, and claims again until none is free,
so a faster or less loaded controller simply takes more units. A controller that dies keeps its units
until their lease expires (``controller_lease_seconds``); the next pass of another controller takes them
and resumes from the schedule, at the first window not yet advanced.

What makes "no window analysed twice" hold:
- the schedule is re-read after the claim, so a unit taken over resumes where its last holder's
  committed advance left it;
- every schedule advance (and a batch's "analysed") is fenced by the lease's token in the same
  transaction: a controller whose lease was taken over while it was busy writes nothing;
- the lease is renewed before each window is read and before an application's outputs are written when a
  third of it has gone by, so a unit is lost only by a controller stalled for most of a lease; it then
  stops on that unit at the next check.
A controller killed mid-window did not commit that window: the next holder analyses it (once)."""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from grafana_proxy.monitoring.passes import StatusSink
from grafana_proxy.stores.base import Lease, LeaseStore, ScheduleStore

log = logging.getLogger(__name__)

ENDPOINT_UNIT = "endpoint:"
BATCH_UNIT = "batch:"
# Units named in one claim's ``IN (...)``: a slice of the pass's list, so a claim stays one small statement.
CLAIM_SLICE = 200
# Largest number of units claimed at once (a pass over 10,000 endpoints: a few hundred claims, not 10,000).
MAX_CHUNK = 32


class LeaseLost(Exception):
    """The unit was taken over by another controller (this one stalled past its lease): stop working on it."""


def controller_id() -> str:
    """host:pid:random, unique per controller process (a restarted process never reuses one)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Fence(Protocol):
    """The writes of one unit's analysis that must not happen once the unit is someone else's."""

    def keep(self) -> None:
        """Raise ``LeaseLost`` when the unit is no longer this controller's (renewing the lease when due)."""

    def advance(self, project: str, application: str, endpoint_uid: str, end_ms: int) -> None: ...

    def finish_batch(self, project: str, batch_id: str, when: int) -> None: ...


class Unfenced:
    """The controller alone, without leases (tests, tools): writes go straight to the stores."""

    def __init__(self, schedules: ScheduleStore, status: StatusSink | None) -> None:
        self.schedules = schedules
        self.status = status

    def keep(self) -> None:
        return None

    def advance(self, project: str, application: str, endpoint_uid: str, end_ms: int) -> None:
        self.schedules.advance(project, application, endpoint_uid, end_ms)

    def finish_batch(self, project: str, batch_id: str, when: int) -> None:
        assert self.status is not None
        self.status.mark_analysed(project, batch_id, when)


class Alone:
    """No other controller: every unit is this one's, in order, with unfenced writes (tests, tools)."""

    alone = True

    def __init__(self, schedules: ScheduleStore, status: StatusSink | None) -> None:
        self.fence = Unfenced(schedules, status)

    def share(self, project: str, units: list[str], work: Callable[[Fence, str], None], stop: threading.Event) -> None:
        for unit in units:
            if stop.is_set():
                return
            work(self.fence, unit)


@dataclass
class Sharing:
    """This controller's side of the leases: who it is and how long a lease lasts."""

    store: LeaseStore
    holder: str
    lease_ms: int
    alone = False

    def chunk(self, waiting: int) -> int:
        """How many units to claim now: a share of what is left (guided self-scheduling), so the large
        claims come first and the last ones are single units that spread the tail evenly."""
        return max(1, min(MAX_CHUNK, waiting // 16))

    def share(self, project: str, units: list[str], work: Callable[[Fence, str], None], stop: threading.Event) -> None:
        """Claim, ``work(fence, unit)`` and release ``units`` until none is free or ``stop`` is set."""
        waiting = list(units)
        while waiting and not stop.is_set():
            candidates, limit = waiting[:CLAIM_SLICE], self.chunk(len(waiting))
            got = self.store.claim(project, candidates, self.holder, limit, self.lease_ms)
            taken = {lease.unit for lease in got}
            # Fewer than asked: every other unit of the slice is held by another controller (or being claimed).
            waiting = waiting[len(candidates) :] if len(got) < limit else [u for u in waiting if u not in taken]
            try:
                for lease in got:
                    if stop.is_set():
                        break
                    held = Held(self, lease)
                    try:
                        held.keep()  # the last units of a chunk were claimed a while ago
                        work(held, lease.unit)
                    except LeaseLost:
                        log.warning("%s/%s was taken over by another controller; leaving it", project, lease.unit)
            finally:
                self.store.release([g for g in got if g.unit.startswith(ENDPOINT_UNIT)])
                self.store.release([g for g in got if not g.unit.startswith(ENDPOINT_UNIT)], forget=True)


class Held:
    """One claimed unit: fenced writes, renewed when a third of the lease has gone by."""

    def __init__(self, sharing: Sharing, lease: Lease) -> None:
        self.sharing = sharing
        self.lease = lease
        self.renewed = time.monotonic()  # the claim set the expiry

    def _renewed_now(self) -> None:
        self.renewed = time.monotonic()

    def keep(self) -> None:
        if time.monotonic() - self.renewed < self.sharing.lease_ms / 3000:
            return
        renewed = self.sharing.store.renew(self.lease, self.sharing.lease_ms)
        if renewed is None:
            raise LeaseLost(self.lease.unit)
        self.lease = renewed
        self._renewed_now()

    def advance(self, project: str, application: str, endpoint_uid: str, end_ms: int) -> None:
        if not self.sharing.store.advance(self.lease, application, endpoint_uid, end_ms, self.sharing.lease_ms):
            raise LeaseLost(self.lease.unit)
        self._renewed_now()

    def finish_batch(self, project: str, batch_id: str, when: int) -> None:
        if not self.sharing.store.finish_batch(self.lease, batch_id, when):
            raise LeaseLost(self.lease.unit)
