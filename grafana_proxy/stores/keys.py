"""Access keys. A secret looks like ``gp_<key_id>_<random>``: the key id (8 hex chars) is public and
finds the row; only the SHA-256 of the whole secret is stored and it is compared in constant time.
Secrets are never logged and never stored."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.exc import IntegrityError

from grafana_proxy.identifiers import check
from grafana_proxy.model import AccessKey
from grafana_proxy.stores import schema
from grafana_proxy.stores.db import Database

_K = schema.access_keys
SCOPES = ("read", "write")
SECRET_BYTES = 32  # entropy of the random part, fed to secrets.token_urlsafe
_SECRET = re.compile(r"gp_([0-9a-f]{8})_[A-Za-z0-9_-]{43,}")
# Compared against when the key id is unknown, so a miss costs about the same time as a wrong secret.
_DUMMY_HASH = hashlib.sha256(b"grafana-proxy: no such key").hexdigest()


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _key_from_row(row: dict[str, Any]) -> AccessKey:
    projects = row["projects"]
    return AccessKey(
        key_id=row["key_id"],
        name=row["name"],
        projects=None if projects is None else tuple(projects),
        scope=row["scope"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )


def _key(row: Row[Any]) -> AccessKey:
    projects = row.projects
    return AccessKey(
        key_id=row.key_id,
        name=row.name,
        projects=None if projects is None else tuple(projects),
        scope=row.scope,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


class SqlKeyStore:
    """``KeyStore`` on SQL."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._revoke_listeners: list[Callable[[str], None]] = []

    def create(self, name: str, projects: Sequence[str] | None, scope: str) -> tuple[AccessKey, str]:
        if scope not in SCOPES:
            raise ValueError(f"scope {scope!r} is not one of {', '.join(SCOPES)}")
        if len(name) > schema.NAME_LEN:
            raise ValueError(f"key name is longer than {schema.NAME_LEN} characters")
        if projects is not None and (isinstance(projects, str) or not all(isinstance(p, str) for p in projects)):
            raise ValueError("projects must be a list of project names (or None for all projects)")
        for project in projects or ():
            check("project", project)
        project_list = None if projects is None else sorted(set(projects))
        for _attempt in range(5):  # 8 hex chars: a collision is rare, but must not be an error
            key_id = secrets.token_hex(4)
            secret = f"gp_{key_id}_{secrets.token_urlsafe(SECRET_BYTES)}"
            created_at = time.time_ns() // 1_000_000
            row = {
                "key_id": key_id,
                "name": name,
                "secret_hash": hash_secret(secret),
                "projects": project_list,
                "scope": scope,
                "created_at": created_at,
                "revoked_at": None,
            }
            try:
                with self.db.write() as conn:
                    conn.execute(_K.insert(), row)
            except IntegrityError:
                continue
            key = AccessKey(
                key_id=key_id,
                name=name,
                projects=None if project_list is None else tuple(project_list),
                scope=scope,
                created_at=created_at,
            )
            return key, secret
        raise RuntimeError("could not find a free key id")

    def adopt(self, secret: str, name: str, projects: Sequence[str] | None, scope: str) -> AccessKey:
        """Register a secret made elsewhere (a provisioning bootstrap key). Idempotent: adopting the same
        secret again returns the stored key; a different secret with a taken key id is a ValueError."""
        secret = secret.strip()
        match = _SECRET.fullmatch(secret)
        if match is None:
            raise ValueError("a key must look like gp_<8 hex chars>_<43+ url-safe characters> (see `keys create`)")
        if scope not in SCOPES:
            raise ValueError(f"scope {scope!r} is not one of {', '.join(SCOPES)}")
        existing = self.verify(secret)
        if existing is not None:
            return existing
        for project in projects or ():
            check("project", project)
        project_list = None if projects is None else sorted(set(projects))
        row = {
            "key_id": match.group(1),
            "name": name[: schema.NAME_LEN],
            "secret_hash": hash_secret(secret),
            "projects": project_list,
            "scope": scope,
            "created_at": time.time_ns() // 1_000_000,
            "revoked_at": None,
        }
        try:
            with self.db.write() as conn:
                conn.execute(_K.insert(), row)
        except IntegrityError:
            raise ValueError(f"key id {match.group(1)} is taken by another (or a revoked) key") from None
        return _key_from_row(row)

    def verify(self, secret: str) -> AccessKey | None:
        match = _SECRET.fullmatch(secret.strip()) if isinstance(secret, str) else None
        if match is None:
            return None
        with self.db.read() as conn:
            row = conn.execute(select(_K).where(_K.c.key_id == match.group(1))).first()
        stored = row.secret_hash if row is not None else _DUMMY_HASH
        if not hmac.compare_digest(stored.encode("ascii"), hash_secret(secret.strip()).encode("ascii")):
            return None
        if row is None or row.revoked_at is not None:
            return None
        return _key(row)

    def all(self) -> list[AccessKey]:
        with self.db.read() as conn:
            return [_key(row) for row in conn.execute(select(_K).order_by(_K.c.created_at, _K.c.key_id))]

    def revoke(self, key_id: str) -> bool:
        """Revoke a live key; False when there is no such key or it was revoked already."""
        stmt = update(_K).where(_K.c.key_id == key_id, _K.c.revoked_at.is_(None))
        with self.db.write() as conn:
            revoked = conn.execute(stmt.values(revoked_at=time.time_ns() // 1_000_000)).rowcount > 0
        for listener in list(self._revoke_listeners):
            listener(key_id)
        return revoked

    def add_revoke_listener(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(key_id)`` after every revocation made through this store (this process), so a
        verifier's cache forgets the key at once instead of at the end of its TTL."""
        self._revoke_listeners.append(listener)
