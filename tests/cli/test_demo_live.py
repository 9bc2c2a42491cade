"""``grafana-proxy demo`` as a user runs it: a real process with history seeded and the live pipeline
(demo model <- gateway <- traffic, serve with the controller) on free loopback ports; live events must
arrive through the gateway and the datasource must answer; SIGTERM stops everything cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

import httpx
import orjson

from grafana_proxy.archive import read_window
from grafana_proxy.cli.demo import ready_block
from grafana_proxy.demo.live import LIVE_PROJECT, LivePlan
from grafana_proxy.demo.setup import DemoInfo
from grafana_proxy.seeding.seeder import SeedReport
from grafana_proxy.settings import Settings
from grafana_proxy.stores.engine import close_stores, open_stores
from tests.servers import free_port
from tests.test_readme import readme_list_projects_answer

KEY_HEADER = "X-V3io-Session-Key"


class Lines:
    """The lines a stream has printed so far, read by a thread (a pipe read would block the test)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            self.lines.append(raw.decode())

    def wait_for(self, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                match = re.search(pattern, line)
                if match:
                    return match
            time.sleep(0.1)
        raise AssertionError(f"no line matching {pattern!r} within {timeout} s:\n{''.join(self.lines)}")

    def text(self) -> str:
        self._thread.join(10)
        return "".join(self.lines)


def _rows(http: httpx.Client, url: str, target: str) -> list[dict[str, Any]]:
    now = int(time.time() * 1000)
    reply = http.post(f"{url}/query", json={"targets": [{"target": target}], "from": now - 3_600_000, "to": now})
    assert reply.status_code == 200, reply.text
    frames: list[dict[str, Any]] = reply.json()
    if frames and frames[0].get("type") == "table":
        names = [c["text"] for c in frames[0]["columns"]]
        return [dict(zip(names, row, strict=True)) for row in frames[0]["rows"]]
    return frames


def _ready_block(lines: Lines) -> str:
    """The block printed once everything answers: from "Ready." to "Ctrl-C stops everything"."""
    lines.wait_for(r"^Ctrl-C stops everything", 60)
    text = "".join(lines.lines)
    return text[text.index("Ready.") :].split("\n\n")[0].strip()


def test_demo_runs_the_live_pipeline_and_stops_on_sigterm(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port, gateway_port, model_port = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRAFANA_PROXY_")}
    # Short stream windows so points appear within seconds (the environment wins over the demo's defaults).
    env.update(
        PYTHONUNBUFFERED="1",
        GRAFANA_PROXY_DATA_DIR=str(data_dir),
        GRAFANA_PROXY_WINDOW_PERIOD_SECONDS="1",
        GRAFANA_PROXY_WINDOW_LATENESS_SECONDS="0.5",
        GRAFANA_PROXY_ARCHIVE_BATCH_SECONDS="1",
    )
    command = [
        *(sys.executable, "-m", "grafana_proxy.cli.main", "demo", "--port", str(port)),
        *("--gateway-port", str(gateway_port), "--model-port", str(model_port)),
        *("--history-days", "0.05", "--rate", "20", "--drift-after", "5", "--duration", "120"),
    ]
    began = time.monotonic()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    out, errors = Lines(proc.stdout), Lines(proc.stderr)
    try:
        out.wait_for(r"History:.*synthetic.*fraud-demo", 60)
        url = out.wait_for(r"Grafana datasource URL:\s+(\S+)", 10).group(1)
        key = out.wait_for(r"Read key:\s+(gp_\S+)", 10).group(1)
        curl = out.wait_for(r"^curl .*", 10).group(0).strip()
        assert url == f"http://127.0.0.1:{port}/api/grafana-proxy/model-endpoints"
        out.wait_for(f"gateway http://127.0.0.1:{gateway_port} -> model http://127.0.0.1:{model_port}", 1)
        # The block is exactly what the README's sample is made from, for this run's options.
        plan = LivePlan(
            port=port, gateway_port=gateway_port, model_port=model_port, rate=20, duration=120, drift_after=5
        )
        history = ["fraud-demo", "retail-demo"]
        seeded = [SeedReport(p, 0, 0, 0, 0, int(0.05 * 86_400_000), 0.0) for p in history]
        info = DemoInfo(url, key, "", history, seeded, LIVE_PROJECT)
        assert _ready_block(out) == ready_block(info, plan, 1.0, history)

        with httpx.Client(headers={KEY_HEADER: key}, timeout=10) as http:
            assert http.get(url).status_code == 200
            # Live calls go through the gateway into the stores: the endpoint and its stream points appear.
            deadline = time.monotonic() + 30
            while True:
                rows = _rows(http, url, f"target_endpoint=list_endpoints;project={LIVE_PROJECT}")
                live = [r for r in rows if r["last_request"] and (r["predictions_per_second"] or 0) > 0]
                series = []
                if live:
                    target = f"target_endpoint=metrics;project={LIVE_PROJECT};metric=predictions_per_second"
                    series = _rows(http, url, target)
                if series and len(series[0]["datapoints"]) >= 2:
                    break
                assert time.monotonic() < deadline, f"no live data through the gateway: {rows}"
                time.sleep(0.5)
            (row,) = live
            assert row["endpoint_name"] == "classifier" and row["last_request"] > (time.time() - 60) * 1000
            features = _rows(
                http, url, f"target_endpoint=incoming_features;project={LIVE_PROJECT};endpoint_id=" + row["endpoint_id"]
            )
            assert {f["target"] for f in features} == {"sepal_length", "sepal_width", "petal_length", "petal_width"}
            projects = http.post(f"{url}/search", json={"target": "target_endpoint=list_projects"}).json()
            assert projects == readme_list_projects_answer() == ["fraud-demo", LIVE_PROJECT, "retail-demo"]
        # The printed curl line works as pasted and lists the live endpoint.
        answer = subprocess.run(["bash", "-c", curl], capture_output=True, check=True, timeout=30)
        assert row["endpoint_id"] in orjson.loads(answer.stdout)[0]["rows"][0]

        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log = errors.text()
    out.text()
    proc.stdout.close()
    proc.stderr.close()
    assert proc.returncode == 0, log
    assert "seeding" in log and "starting the demo model" in log  # it says what it does before it is ready
    assert "stopping" in log and "Traceback" not in log
    assert key not in log  # the key is printed once, on stdout, and never logged
    assert time.monotonic() - began < 90
    _second_run_prints_the_same_block(command, env, key)

    # After the stop every recorded call is in the stores and the archive (the gateway's spool was folded).
    settings = Settings(data_dir=data_dir)
    stores = open_stores(settings)
    try:
        record = stores.endpoints.get(LIVE_PROJECT, row["endpoint_id"])
        assert record is not None and record.feature_stats  # registered with the model's reference
        frame = read_window(settings.archive_location, LIVE_PROJECT, record.uid, 0, 2**42)
        assert len(frame) >= 20 and (frame["latency"] > 0).all()
    finally:
        close_stores(stores)


def _second_run_prints_the_same_block(command: list[str], env: dict[str, str], first_key: str) -> None:
    """A second run on the same data seeds nothing and still prints every line, History included."""
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        out, errors = Lines(proc.stdout), Lines(proc.stderr)
        try:
            block = _ready_block(out)
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        out.text()
        log = errors.text()
    assert proc.returncode == 0, log
    assert "not seeding: the store already holds fraud-demo, live-demo, retail-demo" in log
    labels = [line.split(":")[0] for line in block.splitlines()]
    assert labels[:3] == ["Ready. Add the datasource below in Grafana, or paste the curl line.", "History", "Live"]
    history = block.splitlines()[1]
    assert history.endswith("in fraud-demo, retail-demo, seeded by an earlier run"), history
    assert "Read key:" in block and first_key not in block  # a fresh key every run
