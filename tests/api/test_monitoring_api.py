"""Per-project monitoring through real HTTP: settings, applications (checked when set), keys."""

from __future__ import annotations

from fastapi.testclient import TestClient

from grafana_proxy.settings import Settings
from tests.http_fixtures import PREFIX, Keys

BASE = "/api/v1/projects/alpha/monitoring"
SAMPLE = "tests.monitoring.sample_apps"
# The global application list: what a project without settings of its own runs.
GLOBAL_APPS: list[str] = list(Settings.model_fields["monitoring_applications"].default)


def test_enable_change_show_and_disable(client: TestClient, keys: Keys) -> None:
    write, read = keys.header(keys.alpha_write), keys.header(keys.alpha_read)
    default = client.get(BASE, headers=read).json()
    assert default == {
        "project": "alpha",
        "enabled": True,
        "base_period_minutes": 10,
        "configured": False,
        "updated_at": None,
    }
    put = client.put(BASE, json={"enabled": True, "base_period_minutes": 2}, headers=write)
    assert put.status_code == 200, put.text
    assert client.get(BASE, headers=read).json()["base_period_minutes"] == 2
    # Enabling starts the project from the global application list.
    names = [a["name"] for a in client.get(f"{BASE}/applications", headers=read).json()]
    assert names == sorted(GLOBAL_APPS)
    disabled = client.delete(BASE, headers=write).json()
    assert disabled["enabled"] is False and disabled["base_period_minutes"] == 2
    again = client.put(BASE, json={"enabled": True}, headers=write).json()
    assert again["enabled"] is True and again["base_period_minutes"] == 2  # the period is kept


def test_bad_settings_and_keys_are_refused(client: TestClient, keys: Keys) -> None:
    write = keys.header(keys.alpha_write)
    too_short = client.put(BASE, json={"base_period_minutes": 0.5}, headers=write)
    assert too_short.status_code == 422 and "base_period_minutes" in too_short.json()["message"]
    assert client.put(BASE, json={"enable": True}, headers=write).status_code == 422
    assert client.put(BASE, json={"enabled": True}, headers=keys.header(keys.alpha_read)).status_code == 403
    other = "/api/v1/projects/beta/monitoring"
    assert client.put(other, json={"enabled": True}, headers=write).status_code == 403
    assert client.get(other, headers=keys.header(keys.alpha_read)).status_code == 403
    assert client.delete(BASE, headers=keys.header(keys.alpha_read)).status_code == 403


def test_applications_are_checked_when_set(client: TestClient, keys: Keys) -> None:
    write = keys.header(keys.alpha_write)
    cases = [
        ({"application": "no-such-app"}, "unknown application 'no-such-app'"),
        ({"application": "not_a_module.at_all:App"}, "cannot import 'not_a_module.at_all'"),
        ({"application": f"{SAMPLE}:NotAnApplication"}, "not a MonitoringApplication subclass"),
        (
            {"application": "histogram-data-drift", "params": {"drift_treshold": 0.3}},
            "unknown parameter 'drift_treshold'",
        ),
        ({"application": "histogram-data-drift", "params": {"drift_potential": "high"}}, "must be float"),
        ({"application": "histogram-data-drift", "params": {"drift_detected": 1.5}}, "must be in (0, 1]"),
        (
            {"application": "histogram-data-drift", "params": {"drift_potential": 0.9, "drift_detected": 0.8}},
            "drift_potential < drift_detected",
        ),
        ({"application": "histogram-data-drift", "params": {"drift_tests": ["kolmogorov"]}}, "kolmogorov"),
    ]
    for body, reason in cases:
        answer = client.put(f"{BASE}/applications/x", json=body, headers=write)
        assert answer.status_code == 422, (body, answer.text)
        assert reason in answer.json()["message"], (body, answer.json())
    # Nothing was stored by the refused calls.
    assert client.get(f"{BASE}/applications/x", headers=write).status_code == 404


def test_set_list_get_remove_applications(client: TestClient, keys: Keys) -> None:
    write, read = keys.header(keys.alpha_write), keys.header(keys.alpha_read)
    strict = {"application": "histogram-data-drift", "params": {"drift_detected": 0.4, "drift_potential": 0.2}}
    assert client.put(f"{BASE}/applications/drift-strict", json=strict, headers=write).status_code == 200
    rows = {"application": f"{SAMPLE}:RowCount", "endpoints": ["ep1"]}
    answer = client.put(f"{BASE}/applications/rows", json=rows, headers=write)
    assert answer.status_code == 200, answer.text
    assert answer.json()["endpoints"] == ["ep1"] and answer.json()["counts"] == {
        "windows": 0,
        "results": 0,
        "errors": 0,
    }
    listed = {a["name"]: a for a in client.get(f"{BASE}/applications", headers=read).json()}
    assert set(listed) == {"drift-strict", "rows", *GLOBAL_APPS}
    assert listed["drift-strict"]["params"] == strict["params"] and listed["drift-strict"]["last_run"] is None
    one = client.get(f"{BASE}/applications/rows", headers=read).json()
    assert one["application"] == f"{SAMPLE}:RowCount" and one["configured"] is True
    assert client.delete(f"{BASE}/applications/rows", headers=read).status_code == 403
    assert client.delete(f"{BASE}/applications/rows", headers=write).json() == {"deleted": "rows"}
    assert client.delete(f"{BASE}/applications/rows", headers=write).status_code == 404
    assert client.get(f"{BASE}/applications/rows", headers=read).status_code == 404
    # The Applications dashboard's variable lists what is configured (nothing has run yet).
    body = {"target": "target_endpoint=list_applications;project=alpha"}
    found = client.post(f"{PREFIX}/search", json=body, headers=read).json()
    assert {"drift-strict", "histogram-data-drift"} <= set(found)


def test_unconfigured_project_lists_the_global_applications(client: TestClient, keys: Keys) -> None:
    listed = client.get(f"{BASE}/applications", headers=keys.header(keys.alpha_read)).json()
    assert [a["name"] for a in listed] == GLOBAL_APPS
    assert all(a["configured"] is False for a in listed)
