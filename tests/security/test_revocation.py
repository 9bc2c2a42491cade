"""Revocation: refused at once in the process that revokes, and within one second in every other process
(another key store on the same database stands for another process: the API process shares nothing with it
but the database), on every backend."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient

from grafana_proxy.app import create_app
from grafana_proxy.auth import CACHE_TTL_SECONDS
from grafana_proxy.runtime import Runtime
from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Stores
from grafana_proxy.stores.engine import close_stores, engine_of, open_stores

URL = "/api/grafana-proxy/model-endpoints"


def test_revoked_in_this_process_is_refused_at_once(stores: Stores, tmp_path: Path) -> None:
    key, secret = stores.keys.create("k", None, "read")
    app = create_app(Runtime.build(Settings(data_dir=tmp_path), stores))
    with TestClient(app) as client:
        header = {"X-V3io-Session-Key": secret}
        assert client.get(URL, headers=header).status_code == 200  # now cached
        assert stores.keys.revoke(key.key_id)
        assert client.get(URL, headers=header).status_code == 401  # no cache period in this process


def test_revoked_elsewhere_is_refused_within_one_second(stores: Stores, tmp_path: Path) -> None:
    assert CACHE_TTL_SECONDS <= 1.0
    key, secret = stores.keys.create("k", None, "read")
    app = create_app(Runtime.build(Settings(data_dir=tmp_path), stores))
    other = open_stores(Settings(db_url=str(engine_of(stores).url.render_as_string(False)), data_dir=tmp_path / "o"))
    try:
        with TestClient(app) as client:
            header = {"X-V3io-Session-Key": secret}
            assert client.get(URL, headers=header).status_code == 200  # cached for at most a second
            assert other.keys.revoke(key.key_id)
            time.sleep(CACHE_TTL_SECONDS + 0.05)
            assert client.get(URL, headers=header).status_code == 401
    finally:
        close_stores(other)
