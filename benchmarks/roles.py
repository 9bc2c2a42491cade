"""Our service as the benchmark runs it: the api, ingest and controller roles as separate processes
(``grafana-proxy run api|ingest|controller``, what ``serve`` supervises), started by the benchmark
itself so it knows every pid. On a build without ``run``, one ``serve`` process plays the api and
ingest roles and ``grafana-proxy controller`` the controller.

The controller starts only when asked (``start_controller``): on fresh data it first catches up every
window since the seed, and that catching up belongs to the loaded rows (Q1L, Q2L), not the quiet ones."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.procs import Child, free_port, start, wait_http


def _cli() -> list[str]:
    return [sys.executable, "-m", "grafana_proxy.cli.main"]


@functools.cache
def has_roles() -> bool:
    """Whether this build has ``grafana-proxy run api|ingest|controller``."""
    done = subprocess.run([*_cli(), "run", "--help"], capture_output=True, timeout=120, check=False)
    return done.returncode == 0 and b"api" in done.stdout


@dataclass
class Stack:
    """The processes of one deployment of ours. ``roles`` maps each role to the process playing it
    (the same ``serve`` process for api and ingest on a build without roles)."""

    url: str
    roles: dict[str, Child]
    env: dict[str, str]
    log_dir: Path
    split: bool
    name: str
    data_dir: Path
    extra: list[Child] = field(default_factory=list)

    @property
    def api(self) -> Child:
        return self.roles["api"]

    def start_controller(self) -> None:
        if "controller" in self.roles:
            return
        args = ["run", "controller"] if self.split else ["controller"]
        self.roles["controller"] = start(f"{self.name}-controller", [*_cli(), *args], self.log_dir, self.env)

    def stop_role(self, role: str) -> None:
        child = self.roles.get(role)
        if child is not None and all(child is not other for name, other in self.roles.items() if name != role):
            child.stop()

    def stop(self) -> None:
        # The api first, then ingest folds what it accepted last, then the controller.
        seen: set[int] = set()
        for role in ("api", "ingest", "controller"):
            child = self.roles.get(role)
            if child is not None and child.pid not in seen:
                seen.add(child.pid)
                child.stop()

    def processes(self) -> list[dict[str, Any]]:
        """Every process of the stack (each role's process and its descendants, e.g. uvicorn workers):
        pid, role, VmHWM and VmRSS in MB."""
        out: list[dict[str, Any]] = []
        seen: set[int] = set()
        for role, child in self.roles.items():
            if child.pid in seen:
                out[[p["pid"] for p in out].index(child.pid)]["role"] += f"+{role}"
                continue
            for pid in [child.pid, *descendants(child.pid)]:
                seen.add(pid)
                memory = memory_mb(pid)
                if memory:
                    out.append({"pid": pid, "role": role if pid == child.pid else f"{role} (child)", **memory})
        return out


def start_stack(
    name: str, data_dir: Path, log_dir: Path, env: Mapping[str, str] | None = None, ingest: bool = True
) -> Stack:
    """The api role on a free loopback port (and the ingest role unless ``ingest`` is False), ready."""
    port = free_port()
    merged = {
        "GRAFANA_PROXY_DATA_DIR": str(data_dir),
        "GRAFANA_PROXY_DB_URL": "",
        "GRAFANA_PROXY_AUTH": "keys",
        "GRAFANA_PROXY_HOST": "127.0.0.1",
        "GRAFANA_PROXY_PORT": str(port),
        "GRAFANA_PROXY_CONTROLLER_IN_SERVE": "false",
        **(env or {}),
    }
    url = f"http://127.0.0.1:{port}"
    roles: dict[str, Child] = {}
    split = has_roles()
    try:
        if split:
            if ingest:
                roles["ingest"] = start(f"{name}-ingest", [*_cli(), "run", "ingest"], log_dir, merged)
            roles["api"] = start(f"{name}-api", [*_cli(), "run", "api"], log_dir, merged)
        else:
            serve = start(f"{name}-serve", [*_cli(), "serve"], log_dir, merged)
            roles["api"] = serve
            if ingest:
                roles["ingest"] = serve
        wait_http(roles["api"], f"{url}/healthz", timeout=120)
    except BaseException:
        Stack(url, roles, merged, log_dir, split, name, data_dir).stop()
        raise
    return Stack(url, roles, merged, log_dir, split, name, data_dir)


def _stat_fields(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (one pass over /proc)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None:
                parents.setdefault(int(fields[1]), []).append(int(entry.name))
    out: list[int] = []
    todo = list(parents.get(pid, []))
    while todo:
        child = todo.pop()
        out.append(child)
        todo += parents.get(child, [])
    return out


def memory_mb(pid: int) -> dict[str, float]:
    """VmHWM and VmRSS of a live process in MB (10^6 bytes); empty once it is gone."""
    out: dict[str, float] = {}
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            out[key] = round(int(value.split()[0]) * 1024 / 1e6, 1)
    return out


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a live process, in seconds."""
    fields = _stat_fields(pid)
    if fields is None:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def backlog_records(stack: Stack) -> float | None:
    """The ingest role's backlog (spool records not folded yet) from the status file it keeps in the
    spool directory; None when there is none (a build without it)."""
    import orjson

    try:
        status = orjson.loads((stack.data_dir / "spool" / "status" / "ingest.json").read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    value = status.get("backlog_records") if isinstance(status, dict) else None
    return float(value) if isinstance(value, int | float) else None
