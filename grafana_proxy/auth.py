"""Access keys on every request.

Grafana sends the key in a custom header: ``X-V3io-Session-Key`` (MLRun's), then ``X-V3io-Access-Key``,
then ``Authorization: Bearer``. Verified keys are cached for one second under the SHA-256 of the
secret (never the secret), so a panel refresh costs no database round trip for the key. Revocation
takes effect in every process within that second (``keys revoke`` from the CLI, another replica), and
at once in the process that revokes through its own key store (the cache listens to it)."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from grafana_proxy.deps import RuntimeDep
from grafana_proxy.errors import ApiError
from grafana_proxy.identifiers import problem
from grafana_proxy.model import AccessKey
from grafana_proxy.settings import AuthMode
from grafana_proxy.stores.base import KeyStore

KEY_HEADERS = ("x-v3io-session-key", "x-v3io-access-key")
CACHE_TTL_SECONDS = 1.0


@dataclass(frozen=True)
class Access:
    """Which projects a key may see: None = all (targets see it as ``targets.base.ProjectAccess``)."""

    projects: frozenset[str] | None

    def allows(self, project: str) -> bool:
        return self.projects is None or project in self.projects

    def visible(self, projects: Sequence[str]) -> list[str]:
        return [p for p in projects if self.allows(p)]


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id (None without auth), what it may read, whether it may write."""

    key_id: str | None
    access: Access
    can_write: bool

    def check_project(self, project: str) -> None:
        reason = problem("project", project)
        if reason is not None:
            raise ApiError(400, f"project: {reason}", "invalid project")
        if not self.access.allows(project):
            raise ApiError(403, f"this access key may not use project {project!r}")


OPEN_PRINCIPAL = Principal(key_id=None, access=Access(projects=None), can_write=True)


class KeyVerifier:
    """Verifies secrets against the key store with a short-lived cache."""

    def __init__(self, keys: KeyStore, ttl: float = CACHE_TTL_SECONDS) -> None:
        self._keys = keys
        self._ttl = ttl
        self._cache: dict[str, tuple[float, AccessKey | None]] = {}
        self._lock = threading.Lock()
        listen = getattr(keys, "add_revoke_listener", None)
        if listen is not None:
            listen(self.forget_key)

    def cached(self, secret: str) -> tuple[bool, AccessKey | None]:
        """(True, key or None) when the cache still holds a verdict on ``secret``; (False, None) when
        only the key store can tell. Never touches the database, so it may run on the event loop."""
        hit = self._cache.get(hashlib.sha256(secret.encode()).hexdigest())  # one dict read: atomic
        if hit is not None and hit[0] > time.monotonic():
            return True, hit[1]
        return False, None

    def verify(self, secret: str) -> AccessKey | None:
        digest = hashlib.sha256(secret.encode()).hexdigest()
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(digest)
        if hit is not None and hit[0] > now:
            return hit[1]
        key = self._keys.verify(secret)
        with self._lock:
            if len(self._cache) > 10_000:  # bound memory under a flood of random keys
                self._cache.clear()
            self._cache[digest] = (now + self._ttl, key)
        return key

    def forget_key(self, key_id: str) -> None:
        """Drop the cached verdicts on one key (it was just revoked in this process)."""
        with self._lock:
            self._cache = {d: v for d, v in self._cache.items() if v[1] is None or v[1].key_id != key_id}

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()


def extract_key(request: Request) -> str | None:
    for header in KEY_HEADERS:
        value = request.headers.get(header, "").strip()
        if value:
            return value
    authorization = request.headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


async def authenticate(request: Request, runtime: RuntimeDep) -> Principal:
    """The caller's principal. Async so that a cached key costs no thread-pool hop; only a cache miss
    reads the key store, in a worker thread."""
    if runtime.settings.auth == AuthMode.none:
        return OPEN_PRINCIPAL
    secret = extract_key(request)
    if secret is None:
        raise ApiError(
            401,
            "missing access key: send it in the X-V3io-Session-Key header "
            "(or X-V3io-Access-Key, or Authorization: Bearer <key>)",
        )
    verifier = runtime.key_verifier
    known, key = verifier.cached(secret)
    if not known:
        key = await run_in_threadpool(verifier.verify, secret)
    if key is None:
        raise ApiError(401, "unknown or revoked access key; create one with `grafana-proxy keys create`")
    projects = None if key.projects is None else frozenset(key.projects)
    return Principal(key_id=key.key_id, access=Access(projects=projects), can_write=key.can_write)


PrincipalDep = Annotated[Principal, Depends(authenticate)]


def require_writer(principal: PrincipalDep) -> Principal:
    if not principal.can_write:
        raise ApiError(403, "this access key is read-only; the write API needs a key created with --write")
    return principal


WriterDep = Annotated[Principal, Depends(require_writer)]


def project_reader(project: str, principal: PrincipalDep) -> str:
    """Path parameter ``project`` the caller may read."""
    principal.check_project(project)
    return project


def project_writer(project: str, principal: WriterDep) -> str:
    """Path parameter ``project`` the caller may write."""
    principal.check_project(project)
    return project


ReadableProject = Annotated[str, Depends(project_reader)]
WritableProject = Annotated[str, Depends(project_writer)]
