"""`grafana-proxy provision` against a local HTTP server speaking the Grafana API routes it uses."""

from __future__ import annotations

import socket

import httpx
import pytest
from typer.testing import CliRunner

from grafana_proxy.dashboards import names as n
from grafana_proxy.dashboards.provision import ProvisionError, ProvisionOptions, key_fingerprint, provision
from tests.dashboards.fake_grafana import GrafanaState, fake_grafana

KEY = "gp_read_0123456789abcdef0123456789abcdef"


def opts(url: str, **kw: object) -> ProvisionOptions:
    base: dict[str, object] = {
        "grafana_url": url,
        "token": "glsa_test_token",
        "key": KEY,
        "proxy_url": "http://grafana-proxy:8080",
    }
    base.update(kw)
    return ProvisionOptions(**base)  # type: ignore[arg-type]


def test_first_run_creates_everything_with_documented_shapes() -> None:
    with fake_grafana() as (url, state):
        report = provision(opts(url))
    assert report.changed
    posts = {(r.method, r.path) for r in state.writes()}
    assert ("POST", "/api/datasources") in posts
    assert ("POST", "/api/folders") in posts
    assert ("POST", "/api/dashboards/db") in posts
    assert ("POST", "/api/v1/provisioning/alert-rules") in posts
    # Bearer token on every request but the public health check
    assert all(r.headers.get("Authorization") == "Bearer glsa_test_token" for r in state.requests[1:])

    ds_body = next(r.body for r in state.writes() if r.path == "/api/datasources")
    assert ds_body["uid"] == "grafana-proxy-infinity"
    assert ds_body["type"] == "yesoreyeram-infinity-datasource"
    assert ds_body["access"] == "proxy"
    assert ds_body["url"] == "http://grafana-proxy:8080/api/grafana-proxy/model-endpoints"
    assert ds_body["jsonData"]["httpHeaderName1"] == "X-V3io-Session-Key"
    assert ds_body["secureJsonData"] == {"httpHeaderValue1": KEY}
    assert KEY not in str(ds_body["jsonData"])  # only a fingerprint outside secureJsonData

    folder_body = next(r.body for r in state.writes() if r.path == "/api/folders")
    assert folder_body == {"title": "Model monitoring", "uid": "model-monitoring"}

    dash_bodies = [r.body for r in state.writes() if r.path == "/api/dashboards/db"]
    assert sorted(b["dashboard"]["uid"] for b in dash_bodies) == sorted(d.uid for d in n.ALL_DASHBOARDS)
    for body in dash_bodies:
        assert body["folderUid"] == "model-monitoring" and body["overwrite"] is True
        assert "${DS_" not in str(body["dashboard"])

    rule_bodies = [r.body for r in state.writes() if r.path == "/api/v1/provisioning/alert-rules"]
    assert {b["uid"] for b in rule_bodies} == {"gp-drift-all", "gp-latency-all", "gp-errors-all"}
    for body in rule_bodies:
        assert body["folderUID"] == "model-monitoring" and body["ruleGroup"] == "model-monitoring"
        assert {d["datasourceUid"] for d in body["data"]} <= {"grafana-proxy-infinity", "__expr__"}
        assert body["condition"] in {d["refId"] for d in body["data"]}


def test_second_run_changes_nothing() -> None:
    with fake_grafana() as (url, state):
        provision(opts(url))
        before = len(state.writes())
        report = provision(opts(url))
        assert len(state.writes()) == before, [(r.method, r.path) for r in state.writes()[before:]]
    assert not report.changed
    assert all(line.startswith("unchanged") for line in report.lines)


def test_changed_key_and_edited_dashboard_are_rewritten() -> None:
    with fake_grafana() as (url, state):
        provision(opts(url))
        state.dashboards[n.OVERVIEW.uid]["dashboard"]["title"] = "edited by hand"
        report = provision(opts(url, key=KEY + "-rotated"))
        updated = {line for line in report.lines if line.startswith("updated")}
        assert f"updated   dashboard {n.OVERVIEW.uid}" in updated
        assert "updated   datasource grafana-proxy-infinity" in updated
        put = [r.body for r in state.writes() if r.method == "PUT" and "/datasources/" in r.path][-1]
        assert put["secureJsonData"] == {"httpHeaderValue1": KEY + "-rotated"}
        assert put["jsonData"]["grafanaProxyKeyFingerprint"] == key_fingerprint(KEY + "-rotated")


def test_dashboard_saved_in_grafana_is_kept_unless_forced() -> None:
    with fake_grafana() as (url, state):
        provision(opts(url))
        # A save from the UI: a new version whose message is not the command's.
        edited = {**state.dashboards[n.DETAILS.uid]["dashboard"], "title": "my own details"}
        edited.pop("id")
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {state.token}"}) as http:
            saved = http.post("/api/dashboards/db", json={"dashboard": edited, "folderUid": "model-monitoring"})
        assert saved.status_code == 200
        before = len(state.writes())
        with pytest.raises(ProvisionError, match=f"{n.DETAILS.uid} \\(version 2 saved by service-account.*--force"):
            provision(opts(url))
        assert len(state.writes()) == before
        assert state.dashboards[n.DETAILS.uid]["dashboard"]["title"] == "my own details"
        report = provision(opts(url, force=True))
        assert f"updated   dashboard {n.DETAILS.uid}" in report.lines
        assert state.dashboards[n.DETAILS.uid]["dashboard"]["title"] == n.DETAILS.title
        assert not provision(opts(url)).changed  # the forced save is the command's own again


def test_no_key_keeps_the_stored_one() -> None:
    with fake_grafana() as (url, state):
        provision(opts(url))
        report = provision(opts(url, key=None))
    assert not report.changed


def test_simplejson_flavour_has_no_alert_rules() -> None:
    state = GrafanaState(plugins={"grafana-simple-json-datasource"})
    with fake_grafana(state) as (url, state):
        provision(opts(url, flavour="simplejson", token=None, user="admin", password="secret"))
    assert not state.rules
    assert set(state.datasources) == {"grafana-proxy-simplejson"}
    dash = state.dashboards[n.DETAILS.uid]["dashboard"]
    assert dash["panels"][0]["datasource"] == {
        "type": "grafana-simple-json-datasource",
        "uid": "grafana-proxy-simplejson",
    }


def test_unreachable_grafana_names_the_fix() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ProvisionError, match="cannot reach Grafana.*--grafana-url"):
        provision(opts(f"http://127.0.0.1:{port}", timeout=2.0))


def test_refused_credentials_name_the_fix() -> None:
    with fake_grafana() as (url, state):
        with pytest.raises(ProvisionError, match="refused the credentials.*--token"):
            provision(opts(url, token="wrong"))
    assert not state.writes()


def test_missing_plugin_names_the_fix() -> None:
    with fake_grafana(GrafanaState(plugins=set())) as (url, state):
        pinned = f"GF_PLUGINS_PREINSTALL_SYNC=yesoreyeram-infinity-datasource@{n.INFINITY_VERSION}"
        with pytest.raises(ProvisionError, match=f"not installed.*{pinned}"):
            provision(opts(url))
        # Grafana 13 has no grafana-cli binary: the hint names `grafana cli`.
        with pytest.raises(ProvisionError, match="`grafana cli plugins install grafana-simple-json-datasource`"):
            provision(opts(url, flavour="simplejson"))
    assert not state.writes()


def test_cli_provision_prints_report_and_errors() -> None:
    import typer

    from grafana_proxy.cli import dashboards

    app = typer.Typer()
    app.command("provision")(dashboards.provision)
    app.command("noop")(lambda: None)  # keep typer in multi-command mode
    runner = CliRunner()
    with fake_grafana() as (url, _state):
        first = runner.invoke(
            app,
            [
                "provision",
                "--grafana-url",
                url,
                "--token",
                "glsa_test_token",
                "--key",
                KEY,
                "--proxy-url",
                "http://grafana-proxy:8080",
            ],
        )
        second = runner.invoke(
            app,
            [
                "provision",
                "--grafana-url",
                url,
                "--token",
                "glsa_test_token",
                "--key",
                KEY,
                "--proxy-url",
                "http://grafana-proxy:8080",
            ],
        )
        bad = runner.invoke(app, ["provision", "--grafana-url", url, "--token", "nope"])
    assert first.exit_code == 0 and "changes made" in first.output
    assert second.exit_code == 0 and "nothing to change" in second.output
    assert bad.exit_code == 1
    missing = runner.invoke(app, ["provision", "--grafana-url", url])
    assert missing.exit_code != 0
