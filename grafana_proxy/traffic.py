"""A traffic generator: MLRun V2 infer calls at a steady rate, with an optional drift part-way.

Rows are sent as named features (``{"inputs": [{"sepal_length": ...}, ...]}``), so whatever records the
calls learns the feature names from the first one. ``error_share`` of the calls lack a feature (the model
answers 400), which gives the error counters, the error rate and the missing-value share something to show.

Bounded (``duration``, or ``stop``) and, unless told otherwise, limited to loopback addresses so a demo
can never load someone else's service by accident."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
import numpy as np

from grafana_proxy.demo_model import FEATURE_MEANS, FEATURE_STDS, FEATURES

if TYPE_CHECKING:  # only training_frame needs pandas; the CLI's demo command imports this module
    import pandas as pd

# After the drift point the features move by this many standard deviations: general drift ~0.8, detected
# even in windows of a few hundred rows (sampling noise adds ~0.1 to a window without drift).
DRIFT_SHIFT_STDS = (3.0, -2.5, 2.5, 3.0)


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


def named(rows: list[list[float]]) -> list[dict[str, float]]:
    return [dict(zip(FEATURES, row, strict=True)) for row in rows]


def training_frame(rows: int = 5000, seed: int = 1) -> pd.DataFrame:
    """A training set of the demo model: the distribution the traffic has before any drift."""
    import pandas as pd

    return pd.DataFrame(sample(np.random.default_rng(seed), False, rows), columns=list(FEATURES))


def run_traffic(
    url: str,
    rate: float = 10.0,
    duration: float = 60.0,
    drift_after: float | None = None,
    model: str = "classifier",
    allow_remote: bool = False,
    seed: int = 7,
    error_share: float = 0.0,
    stop: threading.Event | None = None,
) -> TrafficReport:
    """Send ``rate`` requests/s to ``<url>/v2/models/<model>/infer`` for ``duration`` seconds (or until
    ``stop`` is set); features shift by ``DRIFT_SHIFT_STDS`` after ``drift_after`` seconds."""
    if rate <= 0 or duration <= 0:
        raise ValueError("rate and duration must be positive")
    if not 0 <= error_share < 1:
        raise ValueError("error share must be at least 0 and below 1")
    if not allow_remote and not is_loopback(url):
        raise ValueError(f"{url} is not a loopback address; pass allow_remote to send traffic elsewhere")
    rng = np.random.default_rng(seed)
    target = f"{url.rstrip('/')}/v2/models/{model}/infer"
    stop = stop or threading.Event()
    sent = failed = drifted = 0
    start = time.monotonic()
    with httpx.Client(timeout=10.0) as client:
        while (elapsed := time.monotonic() - start) < duration and not stop.is_set():
            is_drifted = drift_after is not None and elapsed >= drift_after
            inputs = named(sample(rng, is_drifted))
            if rng.random() < error_share:
                inputs[0].pop(FEATURES[-1])  # a feature missing: the model refuses the call
            try:
                reply = client.post(target, json={"inputs": inputs})
                failed += reply.status_code >= 400
            except httpx.HTTPError:
                failed += 1
            sent += 1
            drifted += is_drifted
            # Pace by schedule, not by sleeping a fixed gap, so slow replies do not lower the rate.
            delay = start + sent / rate - time.monotonic()
            if delay > 0:
                stop.wait(delay)
    return TrafficReport(sent=sent, failed=failed, drifted=drifted, seconds=time.monotonic() - start)
