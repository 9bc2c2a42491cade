"""Access keys on every backend: format, hashing, constant-time verify, revocation."""

from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import select

from grafana_proxy.stores import schema
from grafana_proxy.stores.base import Stores


def test_create_verify_revoke(stores: Stores) -> None:
    key, secret = stores.keys.create("grafana", ["alpha", "beta"], "read")
    assert re.fullmatch(r"gp_[0-9a-f]{8}_[A-Za-z0-9_-]{43,}", secret)
    assert secret.split("_")[1] == key.key_id
    assert key.projects == ("alpha", "beta") and not key.can_write and key.allows("alpha") and not key.allows("x")
    assert stores.keys.verify(secret) == key
    assert stores.keys.verify(secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None  # wrong secret
    assert stores.keys.verify(f"gp_{'0' * 8}_{secret.split('_', 2)[2]}") is None  # unknown key id
    assert stores.keys.verify("not-a-key") is None and stores.keys.verify("") is None

    writer, writer_secret = stores.keys.create("ci", None, "write")
    assert writer.projects is None and writer.can_write and writer.allows("anything")
    assert {k.key_id for k in stores.keys.all()} == {key.key_id, writer.key_id}

    assert stores.keys.revoke(key.key_id) is True
    assert stores.keys.revoke(key.key_id) is False
    assert stores.keys.revoke("missing") is False
    assert stores.keys.verify(secret) is None
    assert stores.keys.verify(writer_secret) == writer
    revoked = next(k for k in stores.keys.all() if k.key_id == key.key_id)
    assert revoked.revoked_at is not None


def test_only_the_sha256_of_the_secret_is_stored(stores: Stores) -> None:
    _key, secret = stores.keys.create("grafana", None, "read")
    with stores.keys.db.read() as conn:  # type: ignore[attr-defined]
        rows = [tuple(row) for row in conn.execute(select(schema.access_keys))]
    assert len(rows) == 1
    assert hashlib.sha256(secret.encode()).hexdigest() in rows[0]
    random_part = secret.split("_", 2)[2]
    assert not any(random_part in str(cell) for cell in rows[0])


def test_bad_scope_and_projects(sqlite_stores: Stores) -> None:
    with pytest.raises(ValueError, match="scope"):
        sqlite_stores.keys.create("k", None, "admin")
    with pytest.raises(ValueError, match="projects"):
        sqlite_stores.keys.create("k", "alpha", "read")
