"""``grafana-proxy serve`` as an operator runs it: one supervisor and three role processes (api, ingest,
controller). Checked on real processes: the tree and each role's peak memory, events accepted by the api
and folded by the ingest role, /metrics fed by the other roles, a SIGKILLed role restarted with a growing
back-off, SIGTERM leaving no process behind, and a role that cannot start saying why in one line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from grafana_proxy.roles.controller import CONTROLLER_NICENESS
from tests.cli.test_demo_live import Lines
from tests.servers import free_port

PREFIX = "/api/grafana-proxy/model-endpoints"
ROLES = {"api", "ingest", "controller"}


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRAFANA_PROXY_")}
    env.update(
        PYTHONUNBUFFERED="1",
        GRAFANA_PROXY_DATA_DIR=str(data_dir),
        GRAFANA_PROXY_AUTH="none",
        GRAFANA_PROXY_METRICS_PUBLIC="true",
        GRAFANA_PROXY_WINDOW_PERIOD_SECONDS="1",
        GRAFANA_PROXY_ARCHIVE_BATCH_SECONDS="1",
    )
    return env


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "grafana_proxy.cli.main", *args]


def _state(data_dir: Path) -> dict[str, Any]:
    path = data_dir / "spool" / "status" / "roles.json"
    return dict(orjson.loads(path.read_bytes())) if path.exists() else {}


def _pids(data_dir: Path) -> dict[str, int]:
    roles = _state(data_dir).get("roles", {})
    return {name: role["pid"] for name, role in roles.items() if role["pid"] is not None}


def _parent(pid: int) -> int:
    # /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so split after the ")".
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _nice(pid: int) -> int:
    # Field 19 of /proc/<pid>/stat; the fields after "(comm)" start at field 3.
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _wait(condition: Any, timeout: float, what: str, log: Lines) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout} s; log:\n{''.join(log.lines)}")


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Lines, Path, int]]:
    data_dir, port = tmp_path / "data", free_port()
    proc = subprocess.Popen(
        _command("serve", "--port", str(port)), env=_env(data_dir), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert proc.stdout is not None
    log = Lines(proc.stdout)
    try:
        _wait(lambda: set(_pids(data_dir)) == ROLES, 60, "all three roles running", log)
        yield proc, log, data_dir, port
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.text()  # the reader thread is done
        proc.stdout.close()


def test_serve_runs_three_role_processes_that_share_the_work(
    serve: tuple[subprocess.Popen[bytes], Lines, Path, int],
) -> None:
    proc, log, data_dir, port = serve
    pids = _pids(data_dir)
    # The process tree: three distinct children of the supervisor, each with its peak memory readable.
    assert _state(data_dir)["supervisor"] == proc.pid
    assert len(set(pids.values())) == 3 and all(_parent(pid) == proc.pid for pid in pids.values())
    memory = _wait(
        lambda: {n: r["vm_hwm_kb"] for n, r in _state(data_dir)["roles"].items() if r["vm_hwm_kb"]}, 10, "VmHWM", log
    )
    assert set(memory) == ROLES and all(kb > 10_000 for kb in memory.values())
    # Background analysis yields the cores to the roles that answer clients.
    _wait(lambda: _nice(pids["controller"]) == CONTROLLER_NICENESS, 10, "the controller's lower priority", log)
    assert _nice(pids["api"]) == 0 and _nice(pids["ingest"]) == 0

    url = f"http://127.0.0.1:{port}"
    now = int(time.time() * 1000)
    events = [
        {"endpoint_id": "ep1", "timestamp": now - 5_000 + i, "request_id": f"r{i}", "inputs": [[i, 1]]}
        for i in range(5)
    ]
    with httpx.Client(base_url=url, timeout=10) as http:
        assert http.post("/api/v1/projects/p/events", json=events).status_code == 202
        # The api folds nothing itself: the ingest process does, and the datasource then lists the endpoint.
        body = {"targets": [{"target": "target_endpoint=list_endpoints;project=p"}]}
        _wait(lambda: http.post(PREFIX + "/query", json=body).json()[0]["rows"], 30, "the endpoint folded", log)
        # /metrics of the api shows what it accepted and the controller process's passes.
        metrics = _wait(
            lambda: (
                (text := http.get("/metrics").text)
                and 'grafana_proxy_controller_runs_total{outcome="ok"}' in text
                and text
            ),
            30,
            "controller runs in /metrics",
            log,
        )
        assert "grafana_proxy_ingest_events_accepted_total 5.0" in metrics
    lines = "".join(log.lines)
    assert all(f"{role:<11}| " in lines for role in ("api", "ingest", "controller", "supervisor"))


def test_a_killed_role_is_restarted_with_back_off_and_sigterm_leaves_no_process(
    serve: tuple[subprocess.Popen[bytes], Lines, Path, int],
) -> None:
    proc, log, data_dir, port = serve
    first = _pids(data_dir)
    os.kill(first["ingest"], signal.SIGKILL)
    log.wait_for(r"ingest was killed by signal 9; restarting in 1 s", 10)
    second = _wait(lambda: (p := _pids(data_dir).get("ingest")) and p != first["ingest"] and p, 20, "restart", log)
    _wait(lambda: "started ingest" in "".join(log.lines[-50:]), 5, "restart logged", log)
    os.kill(second, signal.SIGKILL)
    log.wait_for(r"ingest was killed by signal 9; restarting in 2 s", 10)
    third = _wait(
        lambda: (p := _pids(data_dir).get("ingest")) and p not in (first["ingest"], second) and p, 20, "restart", log
    )
    # The restarted ingest role still folds what the api accepts.
    now = int(time.time() * 1000)
    event = [{"endpoint_id": "after", "timestamp": now, "request_id": "x1", "inputs": [[1, 2]]}]
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        assert http.post("/api/v1/projects/p/events", json=event).status_code == 202
        body = {"targets": [{"target": "target_endpoint=list_endpoints;project=p"}]}
        _wait(lambda: http.post(PREFIX + "/query", json=body).json()[0]["rows"], 30, "folded after restarts", log)

    children = [*_pids(data_dir).values(), first["ingest"], second, third]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 0
    assert not [pid for pid in children if _alive(pid)], "a role outlived the supervisor"
    text = log.text()
    assert "supervisor | stopped" in text.replace("supervisor  ", "supervisor") or "stopped" in text
    assert "Traceback" not in text


def test_a_role_that_cannot_start_says_why_in_one_line(
    serve: tuple[subprocess.Popen[bytes], Lines, Path, int],
) -> None:
    _proc, _log, data_dir, port = serve
    env = _env(data_dir)
    # The port is the running api's.
    taken = subprocess.run(
        _command("run", "api", "--port", str(port)), env=env, capture_output=True, text=True, timeout=60
    )
    # The spool is folded by the running ingest role.
    held = subprocess.run(_command("run", "ingest"), env=env, capture_output=True, text=True, timeout=60)
    # The database cannot be reached.
    env_down = {**env, "GRAFANA_PROXY_DB_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"}
    down = subprocess.run(_command("run", "controller"), env=env_down, capture_output=True, text=True, timeout=60)
    for done, code, words in (
        (taken, 3, f"port {port} on 127.0.0.1 is already in use"),
        (held, 3, "is in use by another process"),
        (down, 1, "127.0.0.1"),
    ):
        output = (done.stdout + done.stderr).strip()
        assert done.returncode == code, output
        assert words in output and "Traceback" not in output
        assert len(output.splitlines()) == 1, output


def test_the_api_role_runs_with_several_workers_each_with_its_own_inbox(tmp_path: Path) -> None:
    from grafana_proxy.ingest.config import IngestConfig
    from grafana_proxy.ingest.pipeline import IngestPipeline
    from grafana_proxy.settings import Settings
    from grafana_proxy.stores.engine import open_stores

    data_dir, port = tmp_path / "data", free_port()
    proc = subprocess.Popen(
        _command("run", "api", "--port", str(port), "--workers", "2"),
        env=_env(data_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert proc.stdout is not None
    log = Lines(proc.stdout)
    inbox = data_dir / "spool" / "inbox"
    try:
        _wait(lambda: inbox.is_dir() and len(list(inbox.iterdir())) == 2, 60, "two workers with an inbox each", log)
        now = int(time.time() * 1000)
        for n in range(20):  # a new connection each: the kernel spreads them over the workers
            event = [{"endpoint_id": f"ep{n}", "timestamp": now, "request_id": f"w{n}", "inputs": [[n, 1]]}]
            reply = httpx.post(f"http://127.0.0.1:{port}/api/v1/projects/p/events", json=event, timeout=10)
            assert reply.status_code == 202, reply.text
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(60)
        log.text()
        proc.stdout.close()
    assert code == 0, "".join(log.lines)
    settings = Settings(data_dir=data_dir)
    stores = open_stores(settings)
    try:
        ingest = IngestPipeline(IngestConfig.from_settings(settings), stores)
        ingest.stop()  # folds both inboxes, then removes them: their writers have exited
        assert len(stores.endpoints.uids("p")) == 20
        assert list(inbox.iterdir()) == []
    finally:
        stores.close()


def test_roles_do_not_outlive_a_killed_supervisor(serve: tuple[subprocess.Popen[bytes], Lines, Path, int]) -> None:
    proc, log, data_dir, _port = serve
    children = list(_pids(data_dir).values())
    proc.send_signal(signal.SIGKILL)  # no chance to stop them: the kernel tells each child (PR_SET_PDEATHSIG)
    proc.wait()
    _wait(lambda: not [pid for pid in children if _alive(pid)], 30, "every role gone after the supervisor", log)


def test_a_signal_arriving_while_the_role_waits_on_its_stop_event_stops_it() -> None:
    """A role's main thread spends its life in ``stop.wait()``, holding the event's lock for a moment on
    every call; a SIGTERM handled right then must still stop it (setting the event from the handler
    itself waited for that lock forever: a role that ignored SIGTERM and outlived its supervisor)."""
    probe = textwrap.dedent(
        """
        import os, signal, time
        from grafana_proxy.roles import stop_on_signals

        stop = stop_on_signals()
        with stop._cond:  # where a main thread inside stop.wait() is when the signal is handled
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.2)  # the handler runs here, between two bytecodes
        print("stopped" if stop.wait(10) else "not stopped")
        """
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "stopped", done.stderr[-2000:]


def _heavy_libraries_mapped(pid: int) -> set[str]:
    """Which of pandas, pyarrow and scipy a live process has loaded: each maps its compiled extension
    modules (``.../site-packages/pyarrow/lib.cpython-*.so``) into the process once imported."""
    maps = Path(f"/proc/{pid}/maps").read_text()
    return {name for name in ("pandas", "pyarrow", "scipy") if f"/{name}/" in maps}


def test_uploads_are_read_by_the_ingest_process_and_the_api_process_stays_lean(
    serve: tuple[subprocess.Popen[bytes], Lines, Path, int], tmp_path: Path
) -> None:
    """A batch and training rows uploaded to the api role: the ingest role reads them (their status says
    done, the rows are stored), and the api process never mapped pandas, pyarrow or scipy, while the
    ingest process did (so the check sees a library that is loaded)."""
    import pandas as pd

    _proc, log, data_dir, port = serve
    pids = _pids(data_dir)
    batch, training = tmp_path / "batch.parquet", tmp_path / "training.parquet"
    pd.DataFrame({"x": [float(i) for i in range(500)], "prediction": [i % 2 for i in range(500)]}).to_parquet(batch)
    pd.DataFrame({"x": [float(i) for i in range(300)], "y": ["a", "b", "c"] * 100}).to_parquet(training)
    parquet = {"Content-Type": "application/vnd.apache.parquet"}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        assert http.put("/api/v1/projects/p/model-endpoints/ep1", json={"name": "m"}).status_code == 200
        uploads = [
            http.post(
                "/api/v1/projects/p/batches?job=nightly&batch_id=b1", content=batch.read_bytes(), headers=parquet
            ),
            http.put(
                "/api/v1/projects/p/model-endpoints/ep1/reference-rows", content=training.read_bytes(), headers=parquet
            ),
        ]
        assert [u.status_code for u in uploads] == [202, 202], [u.text for u in uploads]
        done = [
            _wait(
                lambda u=u: (
                    (s := http.get(u.json()["status_url"], params={"wait": 5}).json())["status"] == "done" and s
                ),
                60,
                "the upload read by the ingest role",
                log,
            )
            for u in uploads
        ]
        assert done[0]["result"]["rows"] == 500 and done[0]["result"]["batch_id"] == "b1"
        assert done[1]["result"]["rows_kept"] == 300
        assert http.get("/api/v1/projects/p/batches/b1").json()["rows"] == 500
    assert _heavy_libraries_mapped(pids["api"]) == set(), "the api process loaded a heavy library"
    assert "pyarrow" in _heavy_libraries_mapped(pids["ingest"])
    assert not list((data_dir / "archive" / "_uploads").rglob("*.parquet")), "staged files left behind"
