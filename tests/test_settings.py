"""One ``Settings`` object: the gateway's variables under the GRAFANA_PROXY_ prefix, with the older
names still read as aliases."""

from __future__ import annotations

import pytest

from grafana_proxy.settings import Settings

OLD_AND_NEW = [
    ("gateway_service_url", "SERVICE_URL", "GRAFANA_PROXY_GATEWAY_SERVICE_URL", "http://model:9000"),
    ("gateway_table_name", "TABLE_NAME", "GRAFANA_PROXY_GATEWAY_TABLE_NAME", "calls"),
    ("gateway_db_url", "DB_URL", "GRAFANA_PROXY_GATEWAY_DB_URL", "postgresql+psycopg://u@h/db"),
]


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for _, old, new, _ in OLD_AND_NEW:
        monkeypatch.delenv(old, raising=False)
        monkeypatch.delenv(new, raising=False)
    monkeypatch.chdir("/")  # no .env file of a checkout


@pytest.mark.parametrize(("field", "old", "new", "value"), OLD_AND_NEW)
def test_gateway_settings_read_the_prefixed_name_and_the_alias(
    monkeypatch: pytest.MonkeyPatch, field: str, old: str, new: str, value: str
) -> None:
    assert getattr(Settings(), field) is None
    monkeypatch.setenv(old, value)
    assert getattr(Settings(), field) == value
    monkeypatch.setenv(new, value + "-new")
    assert getattr(Settings(), field) == value + "-new"  # the GRAFANA_PROXY_ name wins


def test_gateway_settings_can_be_given_by_field_name() -> None:
    settings = Settings(gateway_service_url="http://m:1", gateway_table_name="t", gateway_db_url="sqlite://")
    assert (settings.gateway_service_url, settings.gateway_table_name, settings.gateway_db_url) == (
        "http://m:1",
        "t",
        "sqlite://",
    )
