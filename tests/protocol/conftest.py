from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Stores
from tests.http_fixtures import Keys, client_for, make_keys, seed_small


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, max_body_bytes=200_000)


@pytest.fixture
def keys(stores: Stores) -> Keys:
    seed_small(stores)
    return make_keys(stores)


@pytest.fixture
def client(settings: Settings, stores: Stores, keys: Keys) -> Iterator[TestClient]:
    yield from client_for(settings, stores)
