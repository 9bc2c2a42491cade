"""Controller leases on SQLite, PostgreSQL and MariaDB: claims by concurrent controllers never overlap, an
expired lease is taken over, and writes fenced by a lease that was taken over write nothing."""

from __future__ import annotations

import threading
import time
from collections import Counter

from grafana_proxy.model import Batch
from grafana_proxy.stores.base import Stores

P = "shop"
UNITS = [f"endpoint:ep{i:02d}" for i in range(40)]
LONG = 60_000


def test_concurrent_claims_hand_out_each_unit_once(stores: Stores) -> None:
    """Eight threads (own connections) claim 3 units at a time until none is free: every unit is taken by
    exactly one of them."""
    taken: list[tuple[str, str]] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def worker(name: str) -> None:
        start.wait()
        while got := stores.leases.claim(P, UNITS, name, 3, LONG):
            with lock:
                taken.extend((lease.unit, name) for lease in got)

    threads = [threading.Thread(target=worker, args=(f"c{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    counts = Counter(unit for unit, _ in taken)
    assert sorted(counts) == UNITS and set(counts.values()) == {1}
    held = {lease.unit: lease.holder for lease in stores.leases.leases(P)}
    assert held == dict(taken)


def test_an_expired_lease_is_taken_over_and_fences_the_old_holder(stores: Stores) -> None:
    [old] = stores.leases.claim(P, ["endpoint:a"], "old", 5, 300)
    assert stores.leases.claim(P, ["endpoint:a"], "new", 5, LONG) == []  # still held
    assert stores.leases.advance(old, "app", "a", 1_000, 300)  # renews it, too
    time.sleep(0.4)
    [new] = stores.leases.claim(P, ["endpoint:a"], "new", 5, LONG)
    assert new.token == old.token + 1 and new.holder == "new"
    # The old holder's writes fail and leave the schedule where the new holder found it.
    assert not stores.leases.advance(old, "app", "a", 2_000, LONG)
    assert stores.leases.renew(old, LONG) is None
    assert stores.schedules.last_analyzed(P) == {("app", "a"): 1_000}
    stores.leases.release([old])  # not its lease any more: nothing happens
    assert stores.leases.claim(P, ["endpoint:a"], "third", 5, LONG) == []
    assert stores.leases.advance(new, "app", "a", 2_000, LONG)
    assert stores.schedules.last_analyzed(P) == {("app", "a"): 2_000}
    renewed = stores.leases.renew(new, LONG)
    assert renewed is not None and renewed.expires_ms >= new.expires_ms
    stores.leases.release([new])
    [third] = stores.leases.claim(P, ["endpoint:a"], "third", 5, LONG)
    assert third.token == new.token + 1


def test_finishing_a_batch_is_fenced_and_forgets_its_lease(stores: Stores) -> None:
    stores.monitoring.add_batch(Batch(P, "b1", "ep", 0, 10, 5, 1))
    [lease] = stores.leases.claim(P, ["batch:b1"], "me", 1, 300)
    time.sleep(0.4)
    [other] = stores.leases.claim(P, ["batch:b1"], "other", 1, LONG)
    assert not stores.leases.finish_batch(lease, "b1", 99)
    assert stores.monitoring.batches(P, pending_only=True)
    assert stores.leases.finish_batch(other, "b1", 99)
    batch = stores.monitoring.batch(P, "b1")
    assert batch is not None and batch.analysed_at == 99
    assert stores.leases.leases(P) == []
