"""The stream fold's store on every backend: each request id counted once, also when two processes fold
overlapping ids at the same moment; buckets and totals add up; claims exclude each other."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from grafana_proxy.stores import schema
from grafana_proxy.stores.base import FoldItem, Stores
from grafana_proxy.stores.engine import engine_of

PERIOD = 30_000


def _item(request_id: str, position: int, ts: int, uid: str = "ep1", error: bool = False) -> FoldItem:
    return FoldItem(
        project="p",
        request_id=request_id,
        position=position,
        endpoint_uid=uid,
        timestamp=ts,
        bucket_start=ts - ts % PERIOD,
        count=2,
        latency_sum=20.0,
        latency_n=2,
        errors=int(error),
    )


def test_first_occurrence_counts_once_and_redelivery_is_own(stores: Stores) -> None:
    items = [_item("a", 10, 1_000), _item("b", 11, 31_000, error=True), _item("a", 12, 2_000)]
    outcome = stores.folds.fold(items, now_ms=5)
    assert outcome.fresh == [True, True, False]  # the same id twice in one message: the first counts
    assert outcome.own == [True, True, False]
    again = stores.folds.fold(items, now_ms=6)  # the message delivered again after a crash
    assert again.fresh == [False, False, False]
    assert again.own == [True, True, False]
    other = stores.folds.fold([_item("a", 99, 1_000)], now_ms=7)  # a client's retry in another message
    assert other.fresh == [False] and other.own == [False]
    assert stores.folds.buckets("p", "ep1") == {0: (2, 20.0, 2, 0, 1), 30_000: (2, 20.0, 2, 1, 1)}
    [mark] = stores.folds.claim(
        "w", now_ms=100_000, horizon=60_000, period_ms=PERIOD, span_ms=3_600_000, lease_ms=10_000, limit=10
    )
    assert (mark.error_count, mark.first_request, mark.last_request, mark.emitted_until) == (1, 1_000, 31_000, None)
    assert stores.folds.prune(older_than_ms=5) == 0  # seen_ms is the first fold's time
    assert stores.folds.prune(older_than_ms=6_000) == 2


def test_claims_exclude_each_other_until_released(stores: Stores) -> None:
    stores.folds.fold([_item("a", 1, 1_000), _item("b", 2, 1_000, uid="ep2")], now_ms=1)
    args = {"now_ms": 100_000, "horizon": 60_000, "period_ms": PERIOD, "span_ms": 3_600_000, "lease_ms": 10_000}
    first = stores.folds.claim("w1", limit=10, **args)
    assert {m.endpoint_uid for m in first} == {"ep1", "ep2"}
    assert stores.folds.claim("w2", limit=10, **args) == []
    assert stores.folds.release("w1", first[0], emitted_until=60_000, prune_before=None)
    assert not stores.folds.release("w2", first[1], emitted_until=60_000, prune_before=None)  # not its claim
    # Released with nothing newer: not due again until the next period end, then claimable by anyone.
    assert [m.endpoint_uid for m in stores.folds.claim("w2", limit=10, **args | {"now_ms": 200_000})] == ["ep2"]
    later = stores.folds.claim("w2", limit=10, **args | {"now_ms": 200_000, "horizon": 90_000})
    assert [m.endpoint_uid for m in later] == ["ep1"] and later[0].emitted_until == 60_000


def test_concurrent_overlapping_folds_count_each_id_once(stores: Stores) -> None:
    """Two threads (two connections, as two processes would have) fold the same 2,000 ids in different
    groupings and orders at once: every id is counted exactly once, the buckets sum to the ids."""
    ids = [f"r{i:05d}" for i in range(2_000)]
    errors: list[BaseException] = []
    fresh_counts = [0, 0]

    def worker(index: int) -> None:
        try:
            mine = ids if index == 0 else list(reversed(ids))
            for start in range(0, len(mine), 250):
                group = [
                    _item(
                        r, (index + 1) << 40 | start + j, 1_000 + (int(r[1:]) % 4) * PERIOD, uid=f"ep{int(r[1:]) % 3}"
                    )
                    for j, r in enumerate(mine[start : start + 250])
                ]
                fresh_counts[index] += sum(stores.folds.fold(group, now_ms=1).fresh)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sum(fresh_counts) == len(ids)
    with engine_of(stores).connect() as conn:
        requests = conn.execute(select(func.sum(schema.window_buckets.c.requests))).scalar()
        rows = conn.execute(select(func.sum(schema.window_buckets.c.count))).scalar()
        seen = conn.execute(select(func.count()).select_from(schema.request_ids)).scalar()
    assert (requests, rows, seen) == (len(ids), 2 * len(ids), len(ids))
