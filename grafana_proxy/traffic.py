"""A traffic generator: MLRun V2 infer calls at a steady rate, with an optional drift part-way.

Bounded (``duration``) and, unless told otherwise, limited to loopback addresses so a demo can never load
someone else's service by accident."""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import numpy as np

from grafana_proxy.demo_model import FEATURE_MEANS, FEATURE_STDS

# After the drift point the features move by this many standard deviations (clearly "detected").
DRIFT_SHIFT_STDS = (1.5, -1.0, 1.2, 1.5)


@dataclass(frozen=True)
class TrafficReport:
    sent: int
    failed: int
    drifted: int
    seconds: float


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    try:
        return all(ipaddress.ip_address(info[4][0]).is_loopback for info in socket.getaddrinfo(host, None))
    except (OSError, ValueError):
        return False


def sample(rng: np.random.Generator, drifted: bool, rows: int = 1) -> list[list[float]]:
    means = np.array(FEATURE_MEANS)
    stds = np.array(FEATURE_STDS)
    if drifted:
        means = means + np.array(DRIFT_SHIFT_STDS) * stds
    values = rng.normal(means, stds, size=(rows, len(FEATURE_MEANS)))
    return [[round(float(v), 3) for v in row] for row in values]


def run_traffic(
    url: str,
    rate: float = 10.0,
    duration: float = 60.0,
    drift_after: float | None = None,
    model: str = "classifier",
    allow_remote: bool = False,
    seed: int = 7,
) -> TrafficReport:
    """Send ``rate`` requests/s to ``<url>/v2/models/<model>/infer`` for ``duration`` seconds."""
    if rate <= 0 or duration <= 0:
        raise ValueError("rate and duration must be positive")
    if not allow_remote and not is_loopback(url):
        raise ValueError(f"{url} is not a loopback address; pass allow_remote to send traffic elsewhere")
    rng = np.random.default_rng(seed)
    target = f"{url.rstrip('/')}/v2/models/{model}/infer"
    sent = failed = drifted = 0
    start = time.monotonic()
    with httpx.Client(timeout=10.0) as client:
        while (elapsed := time.monotonic() - start) < duration:
            is_drifted = drift_after is not None and elapsed >= drift_after
            try:
                reply = client.post(target, json={"inputs": sample(rng, is_drifted)})
                failed += reply.status_code >= 400
            except httpx.HTTPError:
                failed += 1
            sent += 1
            drifted += is_drifted
            # Pace by schedule, not by sleeping a fixed gap, so slow replies do not lower the rate.
            delay = start + sent / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    return TrafficReport(sent=sent, failed=failed, drifted=drifted, seconds=time.monotonic() - start)
