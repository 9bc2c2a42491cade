"""The provisioning files and the compose demo stack, checked statically (no Docker engine here):
Compose-spec schema, mounted paths, settings names, ports and datasource uids agreeing everywhere."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest
import yaml

from grafana_proxy.dashboards import alerts
from grafana_proxy.dashboards import names as n
from grafana_proxy.settings import Settings
from grafana_proxy.targets.params import parse_target
from tests.dashboards import contract
from tests.dashboards.walk import ROOT, load

OUR_IMAGE = "grafana-proxy:local"
CLUSTER_OURS = {"api-1", "api-2", "ingest", "controller", "cluster-gateway", "cluster-traffic"}


def read_yaml(rel: str) -> Any:
    return yaml.safe_load((ROOT / rel).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = read_yaml("docker-compose.yml")
    return data


@pytest.mark.parametrize("flavour", n.FLAVOURS)
def test_one_datasources_file_per_flavour(flavour: n.FlavourName) -> None:
    # One file per flavour: a Grafana only gets the datasource whose plugin it can load.
    doc = read_yaml(f"provisioning/datasources/{flavour}/grafana-proxy.yaml")
    assert doc["apiVersion"] == 1
    ds = n.DATASOURCES[flavour]
    (entry,) = doc["datasources"]
    assert entry["uid"] == ds.uid and entry["type"] == ds.plugin_id and entry["access"] == "proxy"
    assert entry["url"] == "${GRAFANA_PROXY_URL}" + n.ROUTE_PREFIX
    assert entry["jsonData"]["httpHeaderName1"] == "X-V3io-Session-Key"
    assert entry["secureJsonData"] == {"httpHeaderValue1": "${GRAFANA_PROXY_KEY}"}
    assert entry["isDefault"] is True


def test_dashboard_provider_file() -> None:
    doc = read_yaml("provisioning/dashboards/grafana-proxy.yaml")
    assert doc["apiVersion"] == 1
    (provider,) = doc["providers"]
    assert provider["folder"] == n.FOLDER_TITLE and provider["type"] == "file"
    # The folder `provision` writes to: without its uid Grafana would create a second folder.
    assert provider["folderUid"] == n.FOLDER_UID
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards/grafana-proxy"


def test_alerting_file() -> None:
    text = (ROOT / "provisioning/alerting/grafana-proxy.yaml").read_text(encoding="utf-8")
    assert text == alerts.provisioning_yaml()
    doc = yaml.safe_load(text)
    assert doc["apiVersion"] == 1
    (group,) = doc["groups"]
    assert group["folder"] == "Model monitoring" and group["interval"] and group["orgId"] == 1
    uids = [r["uid"] for r in group["rules"]]
    assert len(uids) == len(set(uids)) == 3 and all(len(u) <= 40 for u in uids)
    for rule in group["rules"]:
        refs = {d["refId"] for d in rule["data"]}
        assert rule["condition"] in refs and rule["for"] and rule["title"]
        # Grafana expands $VARS from the environment in rule data and labels: none may appear there.
        assert "$" not in json.dumps(rule["data"]) + json.dumps(rule["labels"])
        for item in rule["data"]:
            if item["datasourceUid"] == "__expr__":
                assert item["model"]["expression"] in refs
                continue
            assert item["datasourceUid"] == "grafana-proxy-infinity"
            model = item["model"]
            assert model["parser"] == "backend" and model["url"] == "/rows"
            target = json.loads(model["url_options"]["data"])["target"]
            params = parse_target(target)
            assert params["target_endpoint"] in contract.QUERY_TARGETS
    thresholds = [
        c["evaluator"]["params"][0]
        for r in group["rules"]
        for d in r["data"]
        if d["model"].get("type") == "threshold"
        for c in d["model"]["conditions"]
    ]
    assert sorted(thresholds) == sorted([alerts.DRIFT_STATUS_MIN - 0.5, alerts.LATENCY_MAX_US, alerts.ERROR_RATE_MAX])
    for word in ("drift", "latency", "error rate"):  # thresholds are documented in the file
        assert re.search(rf"^#\s+{word}:", text, re.MULTILINE)


def test_compose_validates_against_the_compose_spec(compose: dict[str, Any]) -> None:
    schema = json.loads((ROOT / "tests/data/compose-spec.json").read_text())
    jsonschema.Draft201909Validator(schema).validate(compose)
    assert set(compose["services"]) >= {
        "postgres",
        "grafana-proxy",
        "demo-model",
        "gateway",
        "traffic",
        "grafana",
        "grafana-legacy",
    }


def test_mounted_and_referenced_files_exist(compose: dict[str, Any]) -> None:
    for name, svc in compose["services"].items():
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
        build = svc.get("build")
        if build:
            assert (ROOT / build["context"] / build["dockerfile"]).is_file()


def _environment(svc: dict[str, Any]) -> dict[str, str]:
    env = svc.get("environment", {})
    return dict(env) if isinstance(env, dict) else dict(item.split("=", 1) for item in env)


def test_our_services_read_only_real_settings(compose: dict[str, Any]) -> None:
    fields = {f"GRAFANA_PROXY_{name.upper()}" for name in Settings.model_fields}
    ours = {k: v for k, v in compose["services"].items() if v.get("image") == OUR_IMAGE}
    assert set(ours) == {"grafana-proxy", "demo-model", "gateway", "traffic", *CLUSTER_OURS}
    for name, svc in ours.items():
        assert svc["command"][0] == "grafana-proxy"
        unknown = {k for k in _environment(svc) if k not in fields}
        assert not unknown, f"{name} sets {unknown}, which are not grafana_proxy.settings.Settings fields"


def test_secrets_come_from_the_env_file(compose: dict[str, Any]) -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    used = set(re.findall(r"\$\{([A-Z_]+)", text))
    example = (ROOT / ".env.example").read_text()
    defined = set(re.findall(r"^([A-Z_]+)=", example, re.MULTILINE))
    assert used <= defined, used - defined
    for svc in compose["services"].values():
        for key, value in _environment(svc).items():
            if any(word in key for word in ("PASSWORD", "KEY", "TOKEN", "SECRET")):
                assert str(value).startswith("${"), f"{key} is hard-coded"
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert not re.search(r"(PASSWORD|_KEY|TOKEN)\s*=", dockerfile)


def test_ports_and_uids_agree(compose: dict[str, Any]) -> None:
    services = compose["services"]
    proxy_port = int(_environment(services["grafana-proxy"])["GRAFANA_PROXY_PORT"])
    assert f"{proxy_port}:{proxy_port}" in services["grafana-proxy"]["ports"]
    for grafana, flavour in (("grafana", "infinity"), ("grafana-legacy", "simplejson")):
        svc = services[grafana]
        env = _environment(svc)
        assert env["GRAFANA_PROXY_URL"] == f"http://grafana-proxy:{proxy_port}"
        mounts = dict(v.split(":")[:2] for v in svc["volumes"] if v.startswith("."))
        path = read_yaml("provisioning/dashboards/grafana-proxy.yaml")["providers"][0]["options"]["path"]
        assert mounts[f"./dashboards/{flavour}/provisioning"] == path
        uid = n.DATASOURCES[flavour].uid  # type: ignore[index]
        dash = load(f"dashboards/{flavour}/provisioning/model-monitoring-overview.json")
        assert dash["panels"][0]["datasource"]["uid"] == uid
        assert env["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"].startswith(path + "/")
        assert "3000" in svc["ports"][0].split(":")[-1]
        assert mounts[f"./provisioning/datasources/{flavour}"] == "/etc/grafana/provisioning/datasources"
    # Infinity installed (pinned) before provisioning runs, not in the background after it.
    grafana = _environment(services["grafana"])
    assert grafana["GF_PLUGINS_PREINSTALL_SYNC"] == f"yesoreyeram-infinity-datasource@{n.INFINITY_VERSION}"
    assert "GF_PLUGINS_PREINSTALL" not in grafana
    assert services["grafana"]["image"] == f"grafana/grafana:{n.GRAFANA_VERSION}"
    legacy = _environment(services["grafana-legacy"])
    assert legacy["GF_INSTALL_PLUGINS"] == f"grafana-simple-json-datasource {n.SIMPLEJSON_VERSION}"
    assert services["grafana-legacy"]["image"] == f"grafana/grafana:{n.LEGACY_GRAFANA_VERSION}"
    assert services["grafana-legacy"]["profiles"] == ["legacy"]
    assert "./provisioning/alerting" in " ".join(services["grafana"]["volumes"])
    # the demo model and the gateway meet where the commands say
    gateway = services["gateway"]["command"]
    assert gateway[gateway.index("--service-url") + 1] == "http://demo-model:8090"
    assert "8090" in services["demo-model"]["command"]
    traffic = services["traffic"]["command"]
    assert traffic[traffic.index("--url") + 1] == f"http://gateway:{gateway[gateway.index('--port') + 1]}"


def test_dockerfile_installs_like_the_readme() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    readme = (ROOT / "README.md").read_text()
    assert re.search(r"^RUN pip install \.(\s|$)", dockerfile, re.MULTILINE)
    assert re.search(r"pip install \.(\s|$|`)", readme), "README must show `pip install .`"
    for copied in re.findall(r"^COPY (.+) \S+$", dockerfile, re.MULTILINE):
        for item in copied.split():
            assert (ROOT / item).exists(), item


def _matrix(rel: str) -> list[str]:
    """The rows of the version matrix (the table whose header starts ``| Grafana | flavour |``)."""
    lines = (ROOT / rel).read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| Grafana | flavour |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows


def test_one_version_matrix_agreeing_with_the_pinned_stack(compose: dict[str, Any]) -> None:
    docs, readme = _matrix("docs/grafana.md"), _matrix("README.md")
    assert docs == readme
    assert [row.split("|")[1].split()[0] for row in docs] == ["10.4", "11.6", "12.x", "13.x"]
    text = "\n".join(docs)
    for version in (n.LEGACY_GRAFANA_VERSION, n.GRAFANA_VERSION, n.INFINITY_VERSION, n.SIMPLEJSON_VERSION):
        assert version in text
    for rel in ("README.md", "docs/grafana.md"):
        body = (ROOT / rel).read_text(encoding="utf-8")
        assert not re.search(r"grafana-cli(?!ent)", body), f"{rel}: Grafana 13 removed grafana-cli; write `grafana cli`"
        assert "schema v2" in body and "grafana-proxy dashboards build" in body
    # The quickstart's drift time is the compose traffic's.
    traffic = compose["services"]["traffic"]["command"]
    seconds = int(traffic[traffic.index("--drift-after") + 1])
    assert f"drift starts after {seconds // 60} minutes" in (ROOT / "docs/grafana.md").read_text(encoding="utf-8")


def test_cluster_profile(compose: dict[str, Any]) -> None:
    services = compose["services"]
    cluster = {name for name, svc in services.items() if svc.get("profiles") == ["cluster"]}
    assert cluster == CLUSTER_OURS | {"nats", "lb", "grafana-cluster"}
    # Two api replicas, two ingest processes, two controllers: the same image, each a role.
    roles = {name: services[name]["command"] for name in ("api-1", "api-2", "ingest", "controller")}
    assert roles["api-1"] == roles["api-2"] == ["grafana-proxy", "run", "api"]
    assert roles["ingest"] == ["grafana-proxy", "run", "ingest"]
    assert roles["controller"] == ["grafana-proxy", "run", "controller"]
    assert services["ingest"]["deploy"]["replicas"] == services["controller"]["deploy"]["replicas"] == 2
    # Every process of ours in the cluster publishes to or consumes from the NATS service, with JetStream
    # and its file storage on, and shares one archive volume.
    nats = services["nats"]
    assert "-js" in nats["command"] and "-sd" in nats["command"]
    for name in CLUSTER_OURS - {"cluster-traffic"}:
        env = _environment(services[name])
        assert env["GRAFANA_PROXY_STREAM_URL"] == "nats://nats:4222", name
        assert env["GRAFANA_PROXY_DB_URL"] == _environment(services["grafana-proxy"])["GRAFANA_PROXY_DB_URL"]
        assert f"cluster-archive:{env['GRAFANA_PROXY_ARCHIVE_URL']}" in services[name]["volumes"], name
        assert set(services[name]["depends_on"]) >= {"postgres", "nats"}
    # The load balancer spreads over exactly the api replicas, on the port they listen on; Grafana reads
    # through it.
    conf = (ROOT / "deploy/cluster/nginx.conf").read_text(encoding="utf-8")
    upstream = re.findall(r"^\s*server (\S+):(\d+)", conf, re.MULTILINE)
    ports = {_environment(services[name])["GRAFANA_PROXY_PORT"] for name in ("api-1", "api-2")}
    assert {host for host, _ in upstream} == {"api-1", "api-2"} and {port for _, port in upstream} == ports
    (listen,) = re.findall(r"^\s*listen (\d+);", conf, re.MULTILINE)
    assert any(p.endswith(f":{listen}") for p in services["lb"]["ports"])
    assert "./deploy/cluster/nginx.conf:/etc/nginx/nginx.conf:ro" in services["lb"]["volumes"]
    grafana = _environment(services["grafana-cluster"])
    assert grafana["GRAFANA_PROXY_URL"] == f"http://lb:{listen}"
    assert services["grafana-cluster"]["image"] == services["grafana"]["image"]
    gateway = services["cluster-gateway"]["command"]
    traffic = services["cluster-traffic"]["command"]
    assert traffic[traffic.index("--url") + 1] == f"http://cluster-gateway:{gateway[gateway.index('--port') + 1]}"

    # Nothing of the cluster takes a host port the demo stack uses.
    def host_ports(names: set[str]) -> set[str]:
        return {p.split(":")[0] for n in names for p in services[n].get("ports", [])}

    assert not host_ports(cluster) & host_ports(set(services) - cluster)
