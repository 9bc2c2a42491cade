"""The API docs work without internet access, and the version is the same everywhere it is shown."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urljoin

import pytest
from fastapi.testclient import TestClient

from grafana_proxy import __version__
from grafana_proxy.app import create_app
from grafana_proxy.runtime import Runtime
from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Stores

REFERENCE = re.compile(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']|url:\s*'([^']+)'""")


@pytest.fixture
def client(tmp_path: Path, sqlite_stores: Stores) -> TestClient:
    return TestClient(create_app(Runtime.build(Settings(data_dir=tmp_path), sqlite_stores)))


@pytest.mark.parametrize(("page", "script"), [("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")])
def test_docs_pages_load_every_asset_from_this_server(client: TestClient, page: str, script: str) -> None:
    response = client.get(page)
    assert response.status_code == 200
    html = response.text
    # Nothing may come from another host: no absolute URL anywhere in the page (CDNs, fonts, validator).
    assert re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", html, re.IGNORECASE) is None, html
    references = [a or b for a, b in REFERENCE.findall(html)]
    assert any(ref.endswith(script) for ref in references), references
    assert "/openapi.json" in references
    for ref in references:
        asset = client.get(urljoin(f"http://testserver{page}", ref))
        assert asset.status_code == 200, ref
        assert len(asset.content) > 100, ref
    js = client.get(f"/docs-assets/{script}")
    assert js.headers["content-type"].startswith(("application/javascript", "text/javascript"))
    assert len(js.content) > 500_000  # the real bundle, not a stub


def test_docs_honour_the_root_path_of_a_reverse_proxy(tmp_path: Path, sqlite_stores: Stores) -> None:
    client = TestClient(create_app(Runtime.build(Settings(data_dir=tmp_path), sqlite_stores)), root_path="/gp")
    html = client.get("/docs").text
    assert "/gp/docs-assets/swagger-ui-bundle.js" in html and "'/gp/openapi.json'" in html


def test_version_in_healthz_and_openapi(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "version": __version__}
    assert client.get("/openapi.json").json()["info"]["version"] == __version__
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)
