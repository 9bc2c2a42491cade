"""The uploads queue on SQLite, PostgreSQL and MariaDB: claims in submission order, a live claim is never
taken twice, a claim whose lease ran out is taken over and its old holder can no longer finish it, and on
the servers a row another transaction holds is skipped rather than waited for (SKIP LOCKED)."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from grafana_proxy.model import Upload, UploadKind, UploadStatus
from grafana_proxy.stores import schema
from grafana_proxy.stores.base import Stores
from grafana_proxy.stores.engine import engine_of

LEASE = 60_000


def _upload(project: str, at: int) -> Upload:
    upload_id = uuid.uuid4().hex
    return Upload(upload_id, project, "ep", UploadKind.batch, "csv", f"_uploads/{upload_id}.csv", 10, {"a": 1}, at)


def test_claims_follow_submission_order_and_a_live_claim_is_not_taken_twice(stores: Stores) -> None:
    first, second = _upload("p", 1_000), _upload("p", 2_000)
    stores.uploads.add(second)
    stores.uploads.add(first)
    one = stores.uploads.claim(10_000, LEASE)
    two = stores.uploads.claim(10_001, LEASE)
    assert one is not None and two is not None
    assert (one.upload_id, two.upload_id) == (first.upload_id, second.upload_id)
    assert one.status is UploadStatus.running and one.attempts == 1 and one.params == {"a": 1}
    assert stores.uploads.claim(10_002, LEASE) is None
    assert stores.uploads.finish(one, 10_003, {"rows": 3})
    assert stores.uploads.fail(two, 10_004, "bad column " + "x" * 5000)
    done, failed = stores.uploads.get("p", first.upload_id), stores.uploads.get("p", second.upload_id)
    assert done is not None and done.status is UploadStatus.done and done.result == {"rows": 3}
    assert failed is not None and failed.status is UploadStatus.failed and failed.error is not None
    assert failed.error.startswith("bad column") and len(failed.error) == 4000
    assert stores.uploads.get("q", first.upload_id) is None  # another project's id is not found
    assert stores.uploads.prune(10_004) == 1 and stores.uploads.get("p", first.upload_id) is None


def test_a_claim_whose_lease_ran_out_is_taken_over_and_its_old_holder_loses_it(stores: Stores) -> None:
    stores.uploads.add(_upload("p", 1_000))
    old = stores.uploads.claim(10_000, LEASE)
    assert old is not None
    assert stores.uploads.renew(old, 20_000)  # alive: the lease now runs from 20,000
    assert stores.uploads.claim(20_000 + LEASE - 1, LEASE) is None
    new = stores.uploads.claim(20_000 + LEASE + 1, LEASE)
    assert new is not None and new.upload_id == old.upload_id and new.attempts == 2
    assert not stores.uploads.renew(old, 90_000)
    assert not stores.uploads.finish(old, 90_000, {"rows": 1})
    assert not stores.uploads.fail(old, 90_000, "late")
    assert stores.uploads.finish(new, 90_001, {"rows": 2})
    found = stores.uploads.get("p", new.upload_id)
    assert found is not None and found.result == {"rows": 2}


def test_a_row_another_claimer_holds_is_skipped_not_waited_for(stores: Stores) -> None:
    """Two ingest processes claiming at once: the second passes over the row the first has locked."""
    engine = engine_of(stores)
    if engine.dialect.name == "sqlite":
        return  # one writer at a time: BEGIN IMMEDIATE serialises claimers, there is no row lock to skip
    first, second = _upload("p", 1_000), _upload("p", 2_000)
    stores.uploads.add(first)
    stores.uploads.add(second)
    table = schema.uploads
    with engine.connect() as other, other.begin():
        held = other.execute(
            select(table.c.upload_id).where(table.c.upload_id == first.upload_id).with_for_update()
        ).scalar_one()
        assert held == first.upload_id
        claimed = stores.uploads.claim(10_000, LEASE)  # would block here without SKIP LOCKED
        assert claimed is not None and claimed.upload_id == second.upload_id
    again = stores.uploads.claim(10_001, LEASE)
    assert again is not None and again.upload_id == first.upload_id
