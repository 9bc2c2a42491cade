"""One command, several processes: the supervisor behind ``serve`` and ``demo``.

It starts each role as a child process (in its own session, so a terminal's Ctrl-C reaches only the
supervisor, which then stops the children once and in order), prefixes every line a child writes with
its role so the whole tree reads as one log stream, restarts a child that dies with a growing back-off
(1 s, 2 s, 4 s ... 30 s; back to 1 s after a minute of uptime) and reports each restart. A child that
exits with ``EXIT_CANNOT_START`` has said why in one line; restarting would not help, so the supervisor
stops everything and exits 1. SIGTERM or SIGINT stops every child (SIGTERM, then SIGKILL after a grace
period) and waits for it: no orphan. On Linux each child also gets SIGTERM if the supervisor itself is
killed (``PR_SET_PDEATHSIG``).

While running, ``<state file>`` (JSON) holds the supervisor's pid and per role the child's pid, restarts
and peak resident memory (``VmHWM`` from ``/proc``), for operators and the benchmark."""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO

from grafana_proxy.observability.status import write_status
from grafana_proxy.roles import EXIT_CANNOT_START

BACKOFF_START = 1.0
BACKOFF_MAX = 30.0
STABLE_SECONDS = 60.0  # a child that ran this long starts the back-off over when it dies
GRACE_SECONDS = 20.0  # SIGTERM to SIGKILL
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class RoleSpec:
    name: str
    argv: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)  # added to the supervisor's environment
    # Started only once the previous roles are ready; this one is ready when it accepts on this port.
    port: int | None = None
    host: str = "127.0.0.1"
    once: bool = False  # a job with an end (the demo's traffic): exiting with 0 is finishing, not crashing


def cli_argv(*args: str) -> list[str]:
    """The argv of a ``grafana-proxy`` command run by this interpreter."""
    return [sys.executable, "-m", "grafana_proxy.cli.main", *args]


def peak_memory_kb(pid: int) -> int | None:
    """The process's peak resident set size (``VmHWM``), in kB; None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def _die_with_parent() -> None:
    """Run in the child before exec: SIGTERM when the supervisor dies, even by SIGKILL (Linux)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: a clean stop of the supervisor still stops children
        pass


@dataclass
class _Child:
    spec: RoleSpec
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    restarts: int = 0
    backoff: float = BACKOFF_START
    restart_at: float | None = None
    reader: threading.Thread | None = None
    finished: bool = False


class Supervisor:
    def __init__(
        self,
        roles: Sequence[RoleSpec],
        state_file: Path | None = None,
        out: IO[str] | None = None,
        on_ready: Callable[[], None] | None = None,
        json_lines: bool = False,
    ) -> None:
        self.children = [_Child(spec) for spec in roles]
        self.state_file = state_file
        self._out = out or sys.stderr
        self._out_lock = threading.Lock()
        self._stop = threading.Event()
        self._on_ready = on_ready
        self._json = json_lines
        self.exit_code = 0

    # -- output -------------------------------------------------------------------------------------------

    def say(self, role: str, line: str) -> None:
        """One line of the merged stream: the role as a prefix, or as a field of a JSON log line."""
        if self._json:
            if line.startswith("{") and line.endswith("}"):
                line = '{"role":' + json.dumps(role) + "," + line[1:] if len(line) > 2 else json.dumps({"role": role})
            else:
                stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
                line = json.dumps(
                    {
                        "time": stamp,
                        "level": "INFO",
                        "logger": "grafana_proxy.supervisor",
                        "message": line,
                        "role": role,
                    }
                )
        else:
            line = f"{role:<11}| {line}"
        with self._out_lock:
            self._out.write(line + "\n")
            self._out.flush()

    def _pump(self, child: _Child, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            self.say(child.spec.name, raw.decode(errors="replace").rstrip("\n"))
        stream.close()

    # -- children -----------------------------------------------------------------------------------------

    def _start(self, child: _Child) -> None:
        process = subprocess.Popen(
            list(child.spec.argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, **child.spec.env},
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        child.process, child.started, child.restart_at = process, time.monotonic(), None
        assert process.stdout is not None
        child.reader = threading.Thread(target=self._pump, args=(child, process.stdout), daemon=True)
        child.reader.start()
        self.say("supervisor", f"started {child.spec.name} (pid {process.pid})")

    def _wait_ready(self, child: _Child, timeout: float = 60.0) -> bool:
        """Whether the child accepts on its port (or has none); False when it exited or timed out."""
        if child.spec.port is None:
            return True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self._stop.is_set():
            if child.process is None or child.process.poll() is not None:
                return False
            try:
                with socket.create_connection((child.spec.host, child.spec.port), timeout=0.5):
                    return True
            except OSError:
                time.sleep(0.1)
        return False

    def _exited(self, child: _Child, code: int) -> None:
        if child.reader is not None:
            child.reader.join(5)  # its last lines (the reason it stopped) come before ours
        if code == EXIT_CANNOT_START:
            self.say("supervisor", f"{child.spec.name} cannot start (see above); stopping everything")
            self.exit_code = 1
            self._stop.set()
            return
        if code == 0 and child.spec.once:
            child.finished = True
            self.say("supervisor", f"{child.spec.name} finished")
            return
        how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        if time.monotonic() - child.started >= STABLE_SECONDS:
            child.backoff = BACKOFF_START
        child.restart_at = time.monotonic() + child.backoff
        self.say("supervisor", f"{child.spec.name} {how}; restarting in {child.backoff:g} s")
        child.backoff = min(child.backoff * 2, BACKOFF_MAX)
        child.restarts += 1

    def _write_state(self) -> None:
        if self.state_file is None:
            return
        roles = {
            c.spec.name: {
                "pid": c.process.pid if c.process is not None and c.process.poll() is None else None,
                "restarts": c.restarts,
                "vm_hwm_kb": peak_memory_kb(c.process.pid) if c.process is not None else None,
            }
            for c in self.children
        }
        write_status(self.state_file, {"supervisor": os.getpid(), "roles": roles})

    def _terminate(self) -> None:
        """Stop the children one by one, last started first (so the ingest role, started before those that
        accept events, folds their last batches): SIGTERM, then SIGKILL after the grace period."""
        for child in reversed(self.children):
            process = child.process
            if process is None or process.poll() is not None:
                continue
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                self.say("supervisor", f"{child.spec.name} did not stop in {GRACE_SECONDS:g} s; killing it")
                process.kill()
                process.wait()
        for child in self.children:
            if child.reader is not None:
                child.reader.join(5)

    # -- the loop -----------------------------------------------------------------------------------------

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> int:
        """Start every role, keep them running until SIGTERM/SIGINT (or ``stop()``), stop them; the exit code."""
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            for child in self.children:
                if self._stop.is_set():
                    break
                self._start(child)
                if not self._wait_ready(child) and not self._stop.is_set():
                    code = child.process.poll() if child.process is not None else None
                    if code is not None:
                        self._exited(child, code)
            self._write_state()
            if not self._stop.is_set() and self._on_ready is not None:
                self._on_ready()
            last_state = time.monotonic()
            while not self._stop.wait(0.2):
                for child in self.children:
                    if child.finished:
                        continue
                    if child.restart_at is not None:
                        if time.monotonic() >= child.restart_at:
                            self._start(child)
                        continue
                    code = child.process.poll() if child.process is not None else None
                    if code is not None:
                        self._exited(child, code)
                if time.monotonic() - last_state >= 2.0:
                    self._write_state()
                    last_state = time.monotonic()
        finally:
            self.say("supervisor", "stopping " + ", ".join(c.spec.name for c in reversed(self.children)))
            self._terminate()
            if self.state_file is not None:
                self.state_file.unlink(missing_ok=True)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.say("supervisor", "stopped")
        return self.exit_code

    def _on_signal(self, _signum: int, _frame: FrameType | None) -> None:
        self._stop.set()
