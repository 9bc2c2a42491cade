"""G1's load generator: a light open loop over raw keep-alive HTTP/1.1 connections, and a standalone run.

    python -m benchmarks.gateway_latency [--rate 200] [--seconds 10]

Why not httpx: at 200 requests/s on this 2-core machine an ``httpx.AsyncClient`` costs ~0.5-1 ms of CPU per
request in the benchmark process, so the generator itself saturated (the "direct" path measured 10.7 ms
median / 1.6 s p99 for a model that answers in ~1 ms) and its queueing was charged to both paths. Here a
request is one ``transport.write`` of pre-built bytes from a timer callback, and the reply is read by an
``asyncio.Protocol`` that only finds the end of the head and ``content-length`` (the servers measured are
uvicorn apps answering JSON with a length; anything else is counted as an error). The time is taken in
``data_received`` when the last byte arrives, so event-loop scheduling of a task is not in it. The send
lag (actual send time minus scheduled time) is reported too: if it grows, the generator is the bottleneck
and the numbers are not to be trusted."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

from benchmarks.procs import free_port


@dataclass
class PathResult:
    latencies_ms: list[float] = field(default_factory=list)
    lags_ms: list[float] = field(default_factory=list)  # how late each request left, against its schedule
    errors: list[str] = field(default_factory=list)


class _Connection(asyncio.Protocol):
    """One keep-alive connection carrying one request at a time."""

    def __init__(self, idle: list[_Connection]) -> None:
        self._idle = idle
        self._buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self._sent = 0.0
        self._result: PathResult | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not an asyncio.Transport subclass

    def send(self, request: bytes, result: PathResult) -> None:
        assert self.transport is not None
        self._result = result
        self._sent = time.perf_counter()
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0 or self._result is None:
            return
        head = bytes(self._buffer[:end]).lower()
        marker = head.find(b"\r\ncontent-length:")
        if marker < 0:
            self._fail("reply without content-length")
            return
        value_start = marker + len(b"\r\ncontent-length:")
        value_end = head.find(b"\r\n", value_start)
        length = int(head[value_start : value_end if value_end >= 0 else len(head)])
        if len(self._buffer) < end + 4 + length:
            return
        done = time.perf_counter()
        status = int(head[9:12])
        del self._buffer[: end + 4 + length]
        result, self._result = self._result, None
        if 200 <= status < 300:
            result.latencies_ms.append((done - self._sent) * 1000)
        else:
            result.errors.append(f"HTTP {status}")
        self._idle.append(self)

    def _fail(self, why: str) -> None:
        if self._result is not None:
            self._result.errors.append(why)
            self._result = None
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._result is not None:
            self._result.errors.append(f"connection lost ({type(exc).__name__ if exc else 'closed'})")
            self._result = None
        if self in self._idle:
            self._idle.remove(self)


class Target:
    """A pool of raw connections to one server, and the bytes of the one request sent to it."""

    def __init__(self, port: int, path: str, body: bytes) -> None:
        self.port = port
        self.request = (
            f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\n\r\n"
        ).encode() + body
        self.idle: list[_Connection] = []
        self._opening: set[asyncio.Task[None]] = set()

    async def open(self, count: int) -> None:
        loop = asyncio.get_running_loop()
        for _ in range(count):
            _, connection = await loop.create_connection(lambda: _Connection(self.idle), "127.0.0.1", self.port)
            self.idle.append(connection)

    def fire(self, result: PathResult, scheduled: float) -> None:
        """Send now on an idle connection, or on a new one once it is open (the wait counts as lag)."""
        result.lags_ms.append((time.perf_counter() - scheduled) * 1000)
        if self.idle:
            self.idle.pop().send(self.request, result)
            return
        task = asyncio.get_running_loop().create_task(self._fire_new(result))
        self._opening.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(self._opening.discard)

    async def _fire_new(self, result: PathResult) -> None:
        loop = asyncio.get_running_loop()
        try:
            _, connection = await loop.create_connection(lambda: _Connection(self.idle), "127.0.0.1", self.port)
        except OSError as error:
            result.errors.append(f"connect: {type(error).__name__}")
            return
        connection.send(self.request, result)

    def close(self) -> None:
        for connection in list(self.idle):
            if connection.transport is not None:
                connection.transport.close()


async def open_loop(targets: list[Target], rate: float, seconds: float, settle: float = 10.0) -> list[PathResult]:
    """``rate`` requests/s, one every 1/rate s from a timer whether or not earlier ones have answered; the
    targets take turns in 1-second phases (A, B, A, ...) so a shared upstream sees ``rate`` either way
    and a slow moment of the machine hits every path. Waits up to ``settle`` s for the stragglers."""
    loop = asyncio.get_running_loop()
    results = [PathResult() for _ in targets]
    for target in targets:
        await target.open(16)
    per_phase = max(1, int(rate))
    phases = len(targets) * max(1, round(seconds))
    began = loop.time() + 0.05
    for phase in range(phases):
        side = phase % len(targets)
        for tick in range(per_phase):
            when = began + (phase * per_phase + tick) / rate
            # perf_counter and loop.time differ in origin: schedule on the loop, measure lag on perf_counter.
            scheduled = time.perf_counter() + (when - loop.time())
            loop.call_at(when, targets[side].fire, results[side], scheduled)
    await asyncio.sleep(max(0.0, began + phases * per_phase / rate - loop.time()))
    deadline = loop.time() + settle
    expected = [phases // len(targets) * per_phase] * len(targets)
    while loop.time() < deadline and any(
        len(r.latencies_ms) + len(r.errors) < n for r, n in zip(results, expected, strict=True)
    ):
        await asyncio.sleep(0.05)
    for result, n in zip(results, expected, strict=True):
        missing = n - len(result.latencies_ms) - len(result.errors)
        result.errors.extend(["no answer within the settle time"] * max(0, missing))
    for target in targets:
        target.close()
    return results


def run_open_loop(targets: list[Target], rate: float, seconds: float) -> list[PathResult]:
    """``open_loop`` on uvloop when installed (what uvicorn[standard] brings): less CPU per request."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(open_loop(targets, rate, seconds))
    return uvloop.run(open_loop(targets, rate, seconds))


MODEL = (
    "import uvicorn,sys; from grafana_proxy.demo_model import create_demo_model_app as a; "
    "uvicorn.run(a(), host='127.0.0.1', port=int(sys.argv[1]), log_level='warning')"
)
GATEWAY = (
    "import sys; from pathlib import Path; from grafana_proxy.settings import Settings; "
    "from grafana_proxy.gateway.run import run_gateway; "
    "run_gateway(Settings(data_dir=Path(sys.argv[3])), sys.argv[1], 'bench', port=int(sys.argv[2]))"
)


def _summary(name: str, result: PathResult) -> float:
    ms = result.latencies_ms
    q = statistics.quantiles(ms, n=100)
    median = statistics.median(ms)
    lag = statistics.quantiles(result.lags_ms, n=100)[98]
    sys.stdout.write(
        f"{name:9s} n={len(ms):5d} median={median:6.3f} ms  p95={q[94]:6.3f} ms  p99={q[98]:6.3f} ms"
        f"  send lag p99={lag:.3f} ms  errors={len(result.errors)}\n"
    )
    return median


def _wait(port: int) -> None:
    import socket

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} did not open")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    model_port, gw_port = free_port(), free_port()
    with tempfile.TemporaryDirectory() as data:
        procs = [subprocess.Popen([sys.executable, "-c", MODEL, str(model_port)])]
        model = f"http://127.0.0.1:{model_port}"
        procs.append(subprocess.Popen([sys.executable, "-c", GATEWAY, model, str(gw_port), data]))
        try:
            _wait(model_port)
            _wait(gw_port)
            time.sleep(1.0)
            path, body = "/v2/models/classifier/infer", b'{"inputs": [[5.1, 3.5, 1.4, 0.2]]}'
            targets = [Target(model_port, path, body), Target(gw_port, path, body)]
            run_open_loop(targets, args.rate, 1.0)  # warm-up
            direct, gateway = run_open_loop(
                [Target(model_port, path, body), Target(gw_port, path, body)], args.rate, args.seconds
            )
            added = _summary("gateway", gateway) - _summary("direct", direct)
            sys.stdout.write(f"added median latency at {args.rate:.0f} req/s: {added:.3f} ms\n")
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(30)


if __name__ == "__main__":
    main()
