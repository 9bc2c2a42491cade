"""Child processes of the benchmark: free loopback ports, start/stop with logs in files (a pipe that
nobody reads would block a chatty server), readiness polling and peak RSS from /proc."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    """A port the kernel just gave out on 127.0.0.1 (closed again, so a short race is possible)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (servers fold their state on a clean stop), SIGKILL if that takes too long."""
        if not self.alive():
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


def start(name: str, argv: Sequence[str], log_dir: Path, env: Mapping[str, str] | None = None) -> Child:
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    log = log_path.open("wb")
    merged = {**os.environ, **(env or {})}
    process = subprocess.Popen(list(argv), stdout=log, stderr=subprocess.STDOUT, env=merged)
    log.close()  # the child holds its own descriptor
    return Child(name, process, log_path)


def wait_http(child: Child, url: str, timeout: float, ok: Sequence[int] = (200,)) -> None:
    """Poll ``url`` until it answers one of ``ok``; fail early with the child's log when it exits."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if not child.alive():
            raise RuntimeError(f"{child.name} exited with {child.process.returncode}:\n{child.log_tail()}")
        try:
            status = httpx.get(url, timeout=2.0).status_code
            if status in ok:
                return
            last = f"HTTP {status}"
        except httpx.HTTPError as error:
            last = type(error).__name__
        time.sleep(0.2)
    raise RuntimeError(f"{child.name} not ready at {url} after {timeout:.0f} s ({last}):\n{child.log_tail()}")


def peak_rss_mb(pid: int) -> float | None:
    """VmHWM (the resident set's high-water mark) of a live process, in MB (10^6 bytes)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / 1e6
    except OSError:
        return None
    return None
