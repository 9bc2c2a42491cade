"""Latency the monitor gateway adds: the demo model called directly vs through the gateway, paced.

    python -m benchmarks.gateway_latency [--rate 200] [--seconds 10]

Both servers run as separate processes (uvicorn, one worker each) on loopback; the client paces requests
at --rate on one keep-alive connection and reports median/p95/p99 of each path and their difference."""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time

import httpx

from tests.servers import free_port

MODEL = (
    "import uvicorn,sys; from grafana_proxy.demo_model import create_demo_model_app as a; "
    "uvicorn.run(a(), host='127.0.0.1', port=int(sys.argv[1]), log_level='warning')"
)
GATEWAY = (
    "import sys; from pathlib import Path; from grafana_proxy.settings import Settings; "
    "from grafana_proxy.gateway.run import run_gateway; "
    "run_gateway(Settings(data_dir=Path(sys.argv[3])), sys.argv[1], 'bench', port=int(sys.argv[2]))"
)


def _wait(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=0.5)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


def _run(url: str, rate: float, seconds: float) -> list[float]:
    body = {"inputs": [[5.1, 3.5, 1.4, 0.2]]}
    times: list[float] = []
    with httpx.Client(timeout=10) as client:
        for _ in range(50):  # warm up the connection and both servers
            client.post(url, json=body)
        start = time.monotonic()
        n = 0
        while time.monotonic() - start < seconds:
            t0 = time.perf_counter()
            assert client.post(url, json=body).status_code == 200
            times.append((time.perf_counter() - t0) * 1000)
            n += 1
            delay = start + n / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    return times


def _summary(name: str, ms: list[float]) -> float:
    q = statistics.quantiles(ms, n=100)
    median = statistics.median(ms)
    sys.stdout.write(
        f"{name:9s} n={len(ms):5d} median={median:6.3f} ms  p95={q[94]:6.3f} ms  p99={q[98]:6.3f} ms" + "\n"
    )
    return median


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
            _wait(f"{model}/healthz")
            _wait(f"http://127.0.0.1:{gw_port}/healthz")
            path = "/v2/models/classifier/infer"
            direct = _summary("direct", _run(model + path, args.rate, args.seconds))
            gateway = _summary("gateway", _run(f"http://127.0.0.1:{gw_port}{path}", args.rate, args.seconds))
            sys.stdout.write(f"added median latency at {args.rate:.0f} req/s: {gateway - direct:.3f} ms" + "\n")
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(30)


if __name__ == "__main__":
    main()
