"""create_app start-up behaviour: the bootstrap key and the auth=none opt-in."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from grafana_proxy.app import create_app
from grafana_proxy.runtime import Runtime
from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Stores
from tests.http_fixtures import PREFIX

BOOTSTRAP = "gp_0123abcd_" + "x" * 43


def test_bootstrap_key_is_registered_hashed_and_idempotent(tmp_path: Path, stores: Stores) -> None:
    settings = Settings(data_dir=tmp_path, bootstrap_key=BOOTSTRAP)
    for _ in range(2):  # a restart adopts the same key again without error
        with TestClient(create_app(Runtime.build(settings, stores))) as client:
            assert client.get(PREFIX, headers={"X-V3io-Session-Key": BOOTSTRAP}).status_code == 200
            denied = client.put(
                "/api/v1/projects/p/model-endpoints/e", json={}, headers={"X-V3io-Session-Key": BOOTSTRAP}
            )
            assert denied.status_code == 403  # a read key
    [key] = [k for k in stores.keys.all() if k.key_id == "0123abcd"]
    assert key.projects is None and key.scope == "read"


def test_a_taken_bootstrap_key_id_is_refused(tmp_path: Path, sqlite_stores: Stores) -> None:
    sqlite_stores.keys.adopt(BOOTSTRAP, "first", None, "read")
    other = "gp_0123abcd_" + "y" * 43
    with pytest.raises(ValueError, match="taken"):
        create_app(Runtime.build(Settings(data_dir=tmp_path, bootstrap_key=other), sqlite_stores))


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_auth_none_is_an_explicit_opt_in_that_warns(tmp_path: Path, sqlite_stores: Stores) -> None:
    with TestClient(create_app(Runtime.build(Settings(data_dir=tmp_path), sqlite_stores))) as client:
        assert client.get(PREFIX).status_code == 401
    collect = Collect()
    logger = logging.getLogger("grafana_proxy")
    logger.addHandler(collect)
    try:
        open_app = create_app(Runtime.build(Settings(data_dir=tmp_path / "open", auth="none"), sqlite_stores))
    finally:
        logger.removeHandler(collect)
    assert any("NOT checked" in message for message in collect.messages)
    with TestClient(open_app) as client:
        assert client.get(PREFIX).status_code == 200
