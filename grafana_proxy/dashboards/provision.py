"""Pushes the datasource, the "Model monitoring" folder, the dashboards and (Infinity only) the
alert rules into a running Grafana through its HTTP API (grafana-client).

Idempotent: every object is read first and written only when it differs from what we would write,
so a second run changes nothing. A dashboard whose newest saved version was not written by this
command (edited in the UI, or stored as schema v2 by a 13.x UI, which the v1 API only returns as a
lossy copy) is left alone unless ``force`` is set. The access key itself cannot be read back from Grafana; a short
SHA-256 fingerprint of it is kept in ``jsonData`` so a changed key is noticed and rewritten."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from grafana_client.api import GrafanaApi
from grafana_client.client import GrafanaClientError, GrafanaException

from grafana_proxy.dashboards import alerts
from grafana_proxy.dashboards import names as n
from grafana_proxy.dashboards.render import build_dashboard

Json = dict[str, Any]


class ProvisionError(Exception):
    """A failure the user can fix; the message says how."""


@dataclass(frozen=True)
class ProvisionOptions:
    grafana_url: str
    token: str | None = None
    user: str | None = None
    password: str | None = None
    flavour: n.FlavourName = "infinity"
    key: str | None = None
    proxy_url: str = "http://localhost:8080"
    projects: Sequence[str] = alerts.ALERT_PROJECTS
    timeout: float = 10.0
    force: bool = False


# The version message of every dashboard save of this command: how a later run tells its own saves
# from edits made in Grafana.
SAVE_MESSAGE = "grafana-proxy provision"


@dataclass
class ProvisionReport:
    """One line per object: ``created``, ``updated`` or ``unchanged``."""

    lines: list[str] = field(default_factory=list)

    def add(self, verb: str, what: str) -> None:
        self.lines.append(f"{verb:9} {what}")

    @property
    def changed(self) -> bool:
        return any(not line.startswith("unchanged") for line in self.lines)


def key_fingerprint(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()[:16]


def contains(actual: Any, desired: Any) -> bool:
    """True when every key/value of ``desired`` is present in ``actual`` (recursively); lists must
    match element by element. Grafana adds ids, versions and defaults to what it stores."""
    if isinstance(desired, dict):
        return isinstance(actual, dict) and all(k in actual and contains(actual[k], v) for k, v in desired.items())
    if isinstance(desired, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(desired)
            and all(contains(a, d) for a, d in zip(actual, desired, strict=True))
        )
    return bool(actual == desired)


def datasource_payload(opts: ProvisionOptions) -> Json:
    ds = n.DATASOURCES[opts.flavour]
    json_data: Json = {"httpHeaderName1": n.KEY_HEADER}
    payload: Json = {
        "uid": ds.uid,
        "name": ds.name,
        "type": ds.plugin_id,
        "access": "proxy",
        "url": opts.proxy_url.rstrip("/") + n.ROUTE_PREFIX,
        "isDefault": False,
        "jsonData": json_data,
    }
    if opts.key:
        json_data["grafanaProxyKeyFingerprint"] = key_fingerprint(opts.key)
        payload["secureJsonData"] = {"httpHeaderValue1": opts.key}
    return payload


class Provisioner:
    def __init__(self, opts: ProvisionOptions, api: GrafanaApi) -> None:
        self.opts = opts
        # grafana-client's element methods carry no annotations; hold it untyped.
        self.api: Any = api
        self.report = ProvisionReport()
        self.conflicts: list[str] = []

    def _call(self, what: str, fn: Callable[[], Any]) -> Any:
        """Run one API call, turning transport and auth failures into messages naming the fix."""
        url = self.opts.grafana_url
        try:
            return fn()
        except GrafanaClientError as exc:
            if exc.status_code in (401, 403):
                raise ProvisionError(
                    f"Grafana at {url} refused the credentials ({exc.status_code}) while trying to {what}: "
                    "pass a valid service-account token with --token, or --user/--password of an admin "
                    "(the token needs the Admin role to write datasources and alert rules)."
                ) from exc
            raise
        except (GrafanaException, OSError) as exc:
            if isinstance(exc, GrafanaException) and exc.status_code:
                raise
            raise ProvisionError(
                f"cannot reach Grafana at {url} ({exc}): check --grafana-url and that Grafana is running."
            ) from exc

    def _get(self, what: str, fn: Callable[[], Any]) -> Any:
        """A read that answers None for 404."""
        try:
            return self._call(what, fn)
        except GrafanaClientError as exc:
            if exc.status_code == 404:
                return None
            raise

    def check(self) -> None:
        url = self.opts.grafana_url
        try:
            health = self._call("check its health", lambda: self.api.client.GET("/health"))
        except (GrafanaException, ValueError) as exc:  # a 404 or an HTML page: some other server
            raise ProvisionError(
                f"{url} does not answer like Grafana (GET /api/health: {str(exc)[:120]}): pass Grafana's base "
                "URL with --grafana-url, e.g. http://localhost:3000"
            ) from None
        if not isinstance(health, dict) or "database" not in health:
            raise ProvisionError(
                f"{url} does not answer like Grafana (GET /api/health gave no Grafana health document): pass "
                "Grafana's base URL with --grafana-url, e.g. http://localhost:3000"
            )
        plugin = n.DATASOURCES[self.opts.flavour].plugin_id
        settings = self._get("read plugin settings", lambda: self.api.client.GET(f"/plugins/{plugin}/settings"))
        if settings is None:
            hint = (
                f"set GF_PLUGINS_PREINSTALL_SYNC=yesoreyeram-infinity-datasource@{n.INFINITY_VERSION} "
                "(or run `grafana cli plugins install yesoreyeram-infinity-datasource`)"
                if self.opts.flavour == "infinity"
                else "run `grafana cli plugins install grafana-simple-json-datasource` (Grafana 10, or 11 "
                "with GF_SECURITY_ANGULAR_SUPPORT_ENABLED=true; it cannot load on Grafana 12 or later)"
            )
            raise ProvisionError(
                f"the Grafana plugin {plugin!r} is not installed in {self.opts.grafana_url}: {hint}, "
                "restart Grafana, or choose the other --flavour."
            )

    def datasource(self) -> None:
        want = datasource_payload(self.opts)
        uid = want["uid"]
        have = self._get("read the datasource", lambda: self.api.datasource.get_datasource_by_uid(uid))
        if have is None:
            self._call("create the datasource", lambda: self.api.datasource.create_datasource(want))
            self.report.add("created", f"datasource {uid}")
            return
        comparable = {k: v for k, v in want.items() if k != "secureJsonData"}
        key_ok = not self.opts.key or bool((have.get("secureJsonFields") or {}).get("httpHeaderValue1"))
        if contains(have, comparable) and key_ok:
            self.report.add("unchanged", f"datasource {uid}")
            return
        if not self.opts.key and "grafanaProxyKeyFingerprint" in (have.get("jsonData") or {}):
            # Keep the key already stored (and its fingerprint) when no new key is given.
            want["jsonData"]["grafanaProxyKeyFingerprint"] = have["jsonData"]["grafanaProxyKeyFingerprint"]
        self._call("update the datasource", lambda: self.api.datasource.update_datasource_by_uid(uid, want))
        self.report.add("updated", f"datasource {uid}")

    def folder(self) -> None:
        have = self._get("read the folder", lambda: self.api.folder.get_folder(n.FOLDER_UID))
        if have is None:
            self._call("create the folder", lambda: self.api.folder.create_folder(n.FOLDER_TITLE, uid=n.FOLDER_UID))
            self.report.add("created", f"folder {n.FOLDER_UID}")
        elif have.get("title") != n.FOLDER_TITLE:
            self._call(
                "rename the folder",
                lambda: self.api.folder.update_folder(
                    n.FOLDER_UID, title=n.FOLDER_TITLE, version=have.get("version"), overwrite=True
                ),
            )
            self.report.add("updated", f"folder {n.FOLDER_UID}")
        else:
            self.report.add("unchanged", f"folder {n.FOLDER_UID}")

    def dashboards(self) -> None:
        for ident in n.ALL_DASHBOARDS:
            want = build_dashboard(ident, self.opts.flavour, "provisioning")
            have = self._get("read a dashboard", partial(self.api.dashboard.get_dashboard, ident.uid))
            if have is not None:
                stored = {k: v for k, v in (have.get("dashboard") or {}).items() if k not in ("id", "version")}
                body = {k: v for k, v in want.items() if k != "version"}
                if stored == body and (have.get("meta") or {}).get("folderUid") == n.FOLDER_UID:
                    self.report.add("unchanged", f"dashboard {ident.uid}")
                    continue
                edit = self._foreign_edit(ident.uid)
                if edit and not self.opts.force:
                    self.report.add("kept", f"dashboard {ident.uid} ({edit})")
                    self.conflicts.append(f"{ident.uid} ({edit})")
                    continue
            payload = {
                "dashboard": want,
                "folderUid": n.FOLDER_UID,
                "overwrite": True,
                "message": SAVE_MESSAGE,
            }
            self._call("save a dashboard", partial(self.api.dashboard.update_dashboard, payload))
            self.report.add("created" if have is None else "updated", f"dashboard {ident.uid}")

    def _foreign_edit(self, uid: str) -> str | None:
        """Who saved the dashboard's newest version, when that was not this command; None when it
        was, or when Grafana keeps no version history for it."""
        answer = self._get(
            "read a dashboard's versions", lambda: self.api.client.GET(f"/dashboards/uid/{uid}/versions")
        )
        # Grafana 10 answers a list; 11 and later {"versions": [...], "continueToken": ...}.
        versions = answer.get("versions") if isinstance(answer, dict) else answer
        if not versions:
            return None
        newest = max(versions, key=lambda v: int(v.get("version") or 0))
        if newest.get("message") == SAVE_MESSAGE:
            return None
        who = newest.get("createdBy") or "someone"
        return f"version {newest.get('version')} saved by {who} at {newest.get('created', '?')}"

    def alert_rules(self) -> None:
        prov = self.api.alertingprovisioning
        for rule in alerts.api_rules(self.opts.projects, n.FOLDER_UID):
            uid = rule["uid"]
            have = self._get("read an alert rule", partial(prov.get_alertrule, uid))
            if have is None:
                self._call("create an alert rule", partial(prov.create_alertrule, rule))
                self.report.add("created", f"alert rule {uid}")
            elif contains(have, rule):
                self.report.add("unchanged", f"alert rule {uid}")
            else:
                self._call("update an alert rule", partial(prov.update_alertrule, uid, rule))
                self.report.add("updated", f"alert rule {uid}")

    def run(self) -> ProvisionReport:
        self.check()
        self.datasource()
        self.folder()
        self.dashboards()
        if self.opts.flavour == "infinity":
            self.alert_rules()
        if self.conflicts:
            raise ProvisionError(
                "changed in Grafana since grafana-proxy last pushed them, so not overwritten: "
                + ", ".join(self.conflicts)
                + ". Save your edits elsewhere (or regenerate with `grafana-proxy dashboards build`), "
                "then rerun with --force to overwrite."
            )
        return self.report


def connect(opts: ProvisionOptions) -> GrafanaApi:
    if opts.token:
        credential: str | tuple[str, str] = opts.token
    elif opts.user and opts.password is not None:
        credential = (opts.user, opts.password)
    else:
        raise ProvisionError("give either --token or both --user and --password")
    api: GrafanaApi = GrafanaApi.from_url(opts.grafana_url.rstrip("/"), credential=credential, timeout=opts.timeout)
    return api


def provision(opts: ProvisionOptions) -> ProvisionReport:
    return Provisioner(opts, connect(opts)).run()
