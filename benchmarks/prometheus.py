"""Prometheus beside our server: find or install Debian's package, write our samples as OpenMetrics,
turn them into TSDB blocks with promtool, run the server on loopback with a config that scrapes
nothing, and wait until its start-up compaction is over (so it does not run during the queries)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
import numpy as np
import numpy.typing as npt

from benchmarks.procs import Child, free_port, start, wait_http

INSTALL_HINT = "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y prometheus"
HOUR_MS = 3_600_000
# promtool (2.42) cuts 2 h blocks and re-parses its whole input file once per block, so one 30-day
# file costs 360 passes. Files of 12 h aligned on 2 h boundaries cost 6 passes each over 1/60 of the
# data, and no two files produce overlapping blocks.
CHUNK_MS = 12 * HOUR_MS


@dataclass(frozen=True)
class Binaries:
    prometheus: str
    promtool: str

    def version(self) -> str:
        first = subprocess.run([self.prometheus, "--version"], capture_output=True, text=True).stdout
        return first.splitlines()[0] if first else "unknown"


def find_binaries(install: bool) -> Binaries | None:
    """The installed binaries; with ``install`` (root and apt-get present) install Debian's package first."""
    found = shutil.which("prometheus"), shutil.which("promtool")
    if found[0] and found[1]:
        return Binaries(found[0], found[1])
    if install and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env, stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", "install", "-y", "-q", "prometheus"], check=True, env=env, stdout=subprocess.DEVNULL)
        return find_binaries(install=False)
    return None


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class OpenMetricsChunks:
    """One gauge family written into 12-hour files (see ``CHUNK_MS``); each file is a complete
    OpenMetrics exposition (``# TYPE`` first, ``# EOF`` last). Timestamps are seconds with ms decimals."""

    def __init__(self, directory: Path, metric: str) -> None:
        self.directory = directory
        self.metric = metric
        self.files: dict[int, IO[str]] = {}
        self.samples = 0
        directory.mkdir(parents=True, exist_ok=True)

    def _file(self, chunk: int) -> IO[str]:
        handle = self.files.get(chunk)
        if handle is None:
            handle = (self.directory / f"{self.metric}-{chunk}.om").open("w")
            handle.write(f"# TYPE {self.metric} gauge\n")
            self.files[chunk] = handle
        return handle

    def add(self, labels: Mapping[str, str], times_ms: npt.NDArray[np.int64], values: npt.NDArray[np.float64]) -> None:
        """One series, times ascending (as the seeder writes them)."""
        prefix = self.metric + "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "} "
        chunks = times_ms // CHUNK_MS
        cuts = np.flatnonzero(np.diff(chunks)) + 1
        for part_t, part_v in zip(np.split(times_ms, cuts), np.split(values, cuts), strict=True):
            if part_t.size == 0:
                continue
            # repr() of a Python float round-trips: Prometheus stores exactly the double we stored.
            text = "".join(
                f"{prefix}{v!r} {t // 1000}.{t % 1000:03d}\n"
                for t, v in zip(part_t.tolist(), part_v.tolist(), strict=True)
            )
            self._file(int(part_t[0] // CHUNK_MS)).write(text)
            self.samples += part_t.size

    def close(self) -> list[Path]:
        paths = []
        for handle in self.files.values():
            handle.write("# EOF\n")
            handle.close()
            paths.append(Path(handle.name))
        self.files.clear()
        return sorted(paths)


def create_blocks(binaries: Binaries, files: list[Path], tsdb_dir: Path, workers: int = 2) -> None:
    tsdb_dir.mkdir(parents=True, exist_ok=True)

    def one(path: Path) -> None:
        done = subprocess.run(
            [binaries.promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet", str(path), str(tsdb_dir)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"promtool failed on {path.name}: {done.stderr.strip()[-2000:]}")

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, files))


def start_prometheus(binaries: Binaries, tsdb_dir: Path, work_dir: Path) -> tuple[Child, str]:
    """Prometheus on a free loopback port; returns the child and its base URL once it is ready."""
    config = work_dir / "prometheus.yml"
    # Nothing to scrape: the only data is the imported blocks, so the server does no background work
    # beyond compacting them.
    config.write_text("global:\n  scrape_interval: 1m\n  evaluation_interval: 1m\nscrape_configs: []\n")
    port = free_port()
    argv = [
        binaries.prometheus,
        f"--config.file={config}",
        f"--storage.tsdb.path={tsdb_dir}",
        "--storage.tsdb.retention.time=3650d",  # the imported samples must never age out
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    child = start("prometheus", argv, work_dir)
    url = f"http://127.0.0.1:{port}"
    wait_http(child, f"{url}/-/ready", timeout=120)
    return child, url


def _tsdb_metrics(url: str) -> dict[str, float]:
    wanted = (
        "prometheus_tsdb_compactions_triggered_total",
        "prometheus_tsdb_compactions_total",
        "prometheus_tsdb_blocks_loaded",
    )
    out: dict[str, float] = {}
    for line in httpx.get(f"{url}/metrics", timeout=10).text.splitlines():
        name, _, value = line.partition(" ")
        if name in wanted:
            out[name] = float(value)
    return out


def wait_compacted(url: str, timeout: float, quiet_for: float = 15.0) -> dict[str, float]:
    """Prometheus compacts the imported 2 h blocks about a minute after start-up (its reload tick).
    Wait for that tick, then until block count and compaction count stay put for ``quiet_for`` s."""
    deadline = time.monotonic() + timeout
    last: dict[str, float] = {}
    stable_since = time.monotonic()
    while time.monotonic() < deadline:
        now = _tsdb_metrics(url)
        if now != last:
            last, stable_since = now, time.monotonic()
        elif now.get("prometheus_tsdb_compactions_triggered_total", 0) >= 1 and (
            time.monotonic() - stable_since >= quiet_for
        ):
            return now
        time.sleep(2.0)
    return last


def query_range(client: httpx.Client, url: str, promql: str, start_ms: int, end_ms: int, step_s: float) -> bytes:
    response = client.get(
        f"{url}/api/v1/query_range",
        params={"query": promql, "start": start_ms / 1000, "end": end_ms / 1000, "step": step_s},
    )
    response.raise_for_status()
    return response.content


def count_prometheus(body: bytes) -> tuple[int, int]:
    """(series, points) of a query_range answer."""
    import orjson

    data: Any = orjson.loads(body)["data"]["result"]
    return len(data), sum(len(s["values"]) for s in data)
