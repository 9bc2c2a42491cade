"""The write API tests use the same keys and seeded stores as the protocol tests; their client's app has the
ingest role's upload reader beside it, as ``serve`` has (the api role only stages uploaded files)."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Stores
from tests.http_fixtures import Keys, client_for, uploads_here
from tests.protocol.conftest import keys, settings

__all__ = ["client", "keys", "settings"]


@pytest.fixture
def client(settings: Settings, stores: Stores, keys: Keys) -> Iterator[TestClient]:
    with uploads_here(settings, stores):
        yield from client_for(settings, stores)
