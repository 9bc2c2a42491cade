"""Fixtures for the fault suite: a private PostgreSQL cluster that a test may stop and start
(never the shared server on 5432), a real ``grafana-proxy serve`` process, and small filesystems for
"disk full" and "read-only". Everything is cleaned up even when the test fails."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.servers import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")
ROOT = Path(__file__).resolve().parents[2]


def _require_root(what: str) -> None:
    # Not a skip: the team rule is that a fault test that cannot run is a failure, with the reason.
    if os.geteuid() != 0:
        pytest.fail(f"{what} needs root (the test runs binaries as user postgres / mounts filesystems)", pytrace=False)


def _as_postgres(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["runuser", "-u", "postgres", "--", *args], capture_output=True, text=True, timeout=60, check=False
    )


@dataclass
class PrivatePostgres:
    """A throw-away PostgreSQL 15 cluster on its own port: initdb, trust auth, 127.0.0.1 only."""

    directory: Path
    port: int

    @property
    def data(self) -> Path:
        return self.directory / "cluster"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
        done = _as_postgres(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.directory / "log"),
            "-w",
            "start",
        )
        assert done.returncode == 0, f"pg_ctl start failed: {done.stdout}{done.stderr}{self.log()}"

    def stop(self, mode: str = "immediate") -> None:
        done = _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")
        assert done.returncode == 0, f"pg_ctl stop failed: {done.stdout}{done.stderr}"

    def running(self) -> bool:
        return _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "status").returncode == 0

    def log(self) -> str:
        path = self.directory / "log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    _require_root("the private PostgreSQL cluster")
    if not (PG_BIN / "initdb").exists():
        pytest.fail(f"PostgreSQL 15 binaries not found under {PG_BIN} (apt-get install postgresql-15)", pytrace=False)
    # Not tmp_path: pytest's temp root is private to root, and the cluster runs as postgres.
    directory = Path(tempfile.mkdtemp(prefix="gp_faults_pg_"))
    shutil.chown(directory, "postgres")
    cluster = PrivatePostgres(directory, free_port())
    try:
        made = _as_postgres(
            str(PG_BIN / "initdb"), "-D", str(cluster.data), "-A", "trust", "-U", "postgres", "--no-sync"
        )
        assert made.returncode == 0, f"initdb failed: {made.stdout}{made.stderr}"
        cluster.start()
        yield cluster
    finally:
        if cluster.data.exists() and cluster.running():
            _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(cluster.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(directory, ignore_errors=True)


@dataclass
class ServeProcess:
    """``grafana-proxy serve`` in its own process, its output in a log file."""

    proc: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # graceful: the pipeline folds what is spooled
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode


def serve_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRAFANA_PROXY_")}
    env.update(GRAFANA_PROXY_DATA_DIR=str(data_dir), GRAFANA_PROXY_CONTROLLER_IN_SERVE="false", **extra)
    return env


def start_serve(env: dict[str, str], log_path: Path, wait: bool = True) -> ServeProcess:
    port = free_port()
    command = [sys.executable, "-m", "grafana_proxy.cli.main", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=log_path.parent)
    server = ServeProcess(proc, f"http://127.0.0.1:{port}", log_path)
    if not wait:
        return server
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"serve exited early ({proc.returncode}):\n{server.log()}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.1)
    server.stop()
    pytest.fail(f"serve did not answer /healthz within 60 s:\n{server.log()}")


@pytest.fixture
def serve_factory(tmp_path: Path) -> Iterator[list[ServeProcess]]:
    """Started servers are appended here by the test and stopped (SIGTERM, then SIGKILL) at the end."""
    started: list[ServeProcess] = []
    yield started
    for server in started:
        server.stop()


def run_root(*args: str) -> None:
    done = subprocess.run(list(args), capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, f"{' '.join(args)} failed: {done.stderr}"


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 16 MiB tmpfs: a real filesystem that fills up (ENOSPC) like a full disk."""
    _require_root("mounting a size-limited tmpfs")
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    run_root("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount_point))
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False, timeout=30)


@pytest.fixture
def bind_mount(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """(source, view): ``view`` is a bind mount of ``source`` that the test can remount read-only. Needed
    because chmod does not stop root; a read-only mount stops everyone (EROFS)."""
    _require_root("a read-only bind mount")
    source, view = tmp_path / "source", tmp_path / "view"
    source.mkdir()
    view.mkdir()
    run_root("mount", "--bind", str(source), str(view))
    try:
        yield source, view
    finally:
        subprocess.run(["umount", "-l", str(view)], check=False, timeout=30)


def set_read_only(view: Path, read_only: bool) -> None:
    run_root("mount", "-o", f"remount,{'ro' if read_only else 'rw'},bind", str(view))
