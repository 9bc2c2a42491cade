"""The api role in stream mode stays lean: accepting events into JetStream and answering queries never
load pandas, pyarrow or scipy; and the embedded (spool) mode does not even load nats-py. Checked in a
fresh interpreter (this one has them loaded by other tests)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from tests.stream.publish_helpers import events

PROBE = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path

    data, settings, batch = Path(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
    from fastapi.testclient import TestClient

    from grafana_proxy.app import create_app
    from grafana_proxy.runtime import Runtime
    from grafana_proxy.settings import Settings

    runtime = Runtime.build(Settings(data_dir=data, auth="none", **settings))
    with TestClient(create_app(runtime)) as client:
        status = client.post("/api/v1/projects/lean/events", content=batch).status_code
        body = {"targets": [{"target": "target_endpoint=list_endpoints;project=lean"}],
                "range": {"from": 0, "to": 1}}
        query = client.post("/api/grafana-proxy/model-endpoints/query", json=body).status_code
        scrape = client.get("/metrics").status_code
    runtime.close()
    loaded = sorted(m for m in ("pandas", "pyarrow", "scipy", "nats") if m in sys.modules)
    print(json.dumps({"status": status, "query": query, "scrape": scrape, "loaded": loaded}))
    """
)


def _probe(data_dir: Path, settings: dict[str, str]) -> dict[str, Any]:
    batch = json.dumps(events(0, 50))
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(data_dir), json.dumps(settings), batch],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_the_api_role_in_stream_mode_never_loads_heavy_libraries(
    tmp_path: Path, stream_settings: dict[str, str]
) -> None:
    seen = _probe(tmp_path / "stream", stream_settings)
    assert (seen["status"], seen["query"], seen["scrape"]) == (202, 200, 200)
    assert seen["loaded"] == ["nats"]


def test_the_embedded_mode_does_not_load_nats(tmp_path: Path) -> None:
    seen = _probe(tmp_path / "spool", {})
    assert (seen["status"], seen["query"], seen["scrape"]) == (202, 200, 200)
    assert seen["loaded"] == []
