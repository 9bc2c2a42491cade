"""A small stand-in for the Grafana HTTP API routes `grafana-proxy provision` uses, with request and
response shapes from Grafana's HTTP API documentation (datasources, folders, dashboards, plugins,
alerting provisioning). It stores what it is sent and records every request, so tests can check
what was sent and that a second run writes nothing. Runs on 127.0.0.1 in a thread."""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Json = dict[str, Any]


@dataclass
class Recorded:
    method: str
    path: str
    body: Any
    headers: dict[str, str]


@dataclass
class GrafanaState:
    token: str = "glsa_test_token"
    user: tuple[str, str] = ("admin", "secret")
    plugins: set[str] = field(default_factory=lambda: {"yesoreyeram-infinity-datasource"})
    datasources: dict[str, Json] = field(default_factory=dict)
    folders: dict[str, Json] = field(default_factory=dict)
    dashboards: dict[str, Json] = field(default_factory=dict)
    # Saved versions per dashboard uid, oldest first: {version, message, createdBy, created}.
    versions: dict[str, list[Json]] = field(default_factory=dict)
    rules: dict[str, Json] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)

    def writes(self) -> list[Recorded]:
        return [r for r in self.requests if r.method != "GET"]


class _Handler(BaseHTTPRequestHandler):
    state: GrafanaState

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def _user(self) -> str:
        return "admin" if self.headers.get("Authorization", "").startswith("Basic ") else "service-account"

    def _authorised(self) -> bool:
        header = self.headers.get("Authorization", "")
        if header == f"Bearer {self.state.token}":
            return True
        if header.startswith("Basic "):
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            return (user, password) == self.state.user
        return False

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        path = self.path.split("?")[0]
        self.state.requests.append(Recorded(method, path, body, dict(self.headers)))
        if path == "/api/health":
            return self._send(200, {"database": "ok", "version": "12.1.1"})
        if not self._authorised():
            return self._send(401, {"message": "Unauthorized"})
        status, answer = self._route(method, path, body)
        self._send(status, answer)

    def _route(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        s = self.state
        if m := re.fullmatch(r"/api/plugins/([^/]+)/settings", path):
            if m[1] in s.plugins:
                return 200, {"id": m[1], "enabled": True, "type": "datasource"}
            return 404, {"message": "Plugin not found, no installed plugin with that id"}
        if method == "POST" and path == "/api/datasources":
            if body["uid"] in s.datasources:
                return 409, {"message": "data source with the same uid already exists"}
            stored = self._datasource(body, version=1)
            return 200, {
                "datasource": stored,
                "id": stored["id"],
                "message": "Datasource added",
                "name": stored["name"],
            }
        if m := re.fullmatch(r"/api/datasources/uid/([^/]+)", path):
            if m[1] not in s.datasources:
                return 404, {"message": "Data source not found"}
            if method == "GET":
                return 200, s.datasources[m[1]]
            if method == "PUT":
                old = s.datasources[m[1]]
                secure = dict(old["secureJsonFields"])
                stored = self._datasource(body, version=old["version"] + 1, secure=secure)
                return 200, {"datasource": stored, "id": stored["id"], "message": "Datasource updated"}
        if method == "POST" and path == "/api/folders":
            uid = body.get("uid") or "generated"
            s.folders[uid] = {"id": len(s.folders) + 1, "uid": uid, "title": body["title"], "version": 1}
            return 200, s.folders[uid]
        if m := re.fullmatch(r"/api/folders/([^/]+)", path):
            if m[1] not in s.folders:
                return 404, {"message": "folder not found"}
            if method == "GET":
                return 200, s.folders[m[1]]
            if method == "PUT":
                s.folders[m[1]].update(title=body["title"], version=s.folders[m[1]]["version"] + 1)
                return 200, s.folders[m[1]]
        if method == "POST" and path == "/api/dashboards/db":
            dash = dict(body["dashboard"])
            uid = dash["uid"]
            old = s.dashboards.get(uid)
            dash["id"] = old["dashboard"]["id"] if old else len(s.dashboards) + 1
            dash["version"] = old["dashboard"]["version"] + 1 if old else 1
            s.dashboards[uid] = {
                "dashboard": dash,
                "meta": {"folderUid": body.get("folderUid", ""), "slug": uid, "provisioned": False},
            }
            s.versions.setdefault(uid, []).append(
                {
                    "version": dash["version"],
                    "message": body.get("message", ""),
                    "createdBy": self._user(),
                    "created": "2026-12-02T08:00:00Z",
                }
            )
            return 200, {
                "id": dash["id"],
                "uid": uid,
                "status": "success",
                "version": dash["version"],
                "url": f"/d/{uid}/x",
            }
        if m := re.fullmatch(r"/api/dashboards/uid/([^/]+)/versions", path):
            if m[1] not in s.dashboards:
                return 404, {"message": "Dashboard not found"}
            # Grafana 11+: newest first, wrapped with a continuation token.
            return 200, {"continueToken": "", "versions": list(reversed(s.versions.get(m[1], [])))}
        if m := re.fullmatch(r"/api/dashboards/uid/([^/]+)", path):
            if m[1] not in s.dashboards:
                return 404, {"message": "Dashboard not found"}
            return 200, s.dashboards[m[1]]
        if method == "POST" and path == "/api/v1/provisioning/alert-rules":
            rule = {**body, "id": len(s.rules) + 1, "updated": "2026-01-01T00:00:00Z", "provenance": "api"}
            s.rules[body["uid"]] = rule
            return 201, rule
        if m := re.fullmatch(r"/api/v1/provisioning/alert-rules/([^/]+)", path):
            if m[1] not in s.rules:
                return 404, {"message": "rule not found"}
            if method == "GET":
                return 200, s.rules[m[1]]
            if method == "PUT":
                s.rules[m[1]] = {**body, "id": s.rules[m[1]]["id"], "provenance": "api"}
                return 200, s.rules[m[1]]
        return 404, {"message": f"fake Grafana has no route {method} {path}"}

    def _datasource(self, body: Json, version: int, secure: dict[str, bool] | None = None) -> Json:
        secure = dict(secure or {})
        for key in body.get("secureJsonData") or {}:
            secure[key] = True  # Grafana never returns secure values, only which are set
        stored = {k: v for k, v in body.items() if k != "secureJsonData"}
        existing = self.state.datasources.get(body["uid"])
        stored.update(
            id=existing["id"] if existing else len(self.state.datasources) + 1,
            orgId=1,
            version=version,
            readOnly=False,
            secureJsonFields=secure,
            basicAuth=False,
            withCredentials=False,
            typeName="x",
        )
        self.state.datasources[body["uid"]] = stored
        return stored

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")


@contextmanager
def fake_grafana(state: GrafanaState | None = None) -> Iterator[tuple[str, GrafanaState]]:
    state = state or GrafanaState()
    handler = type("Handler", (_Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
