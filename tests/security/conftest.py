"""Shared data for the hostile-input suites: two projects, where ``beta`` holds values that must never
reach a caller limited to ``alpha`` (so a leak shows up as a string in a response body)."""

from __future__ import annotations

from dataclasses import dataclass

from grafana_proxy.model import AppResult, SeriesKind
from grafana_proxy.stores.base import Point, Stores
from tests.http_fixtures import HOUR, T0, make_keys, seed_small

# Values only project beta has: none of them may appear in any answer to an alpha-only key.
BETA_SECRETS = ("secret-model", "secret:1", "987654.25", "beta-only-app", "beta_only_metric", "beta_feature")


@dataclass(frozen=True)
class Secrets:
    """Keys by role; ``revoked`` was revoked before its first use."""

    all_read: str
    all_write: str
    alpha_read: str
    alpha_write: str
    beta_read: str
    revoked: str


def seed_hostile(stores: Stores) -> Secrets:
    seed_small(stores)
    stores.endpoints.upsert("beta", "ep9", {"drift_status": 2, "error_count": 7, "latency_avg_1h": 987654.25})
    times = [T0 - HOUR + m * 60_000 for m in range(60)]
    stores.series.write("beta", "ep9", SeriesKind.metric, [Point("beta_only_metric", t, 987654.25) for t in times])
    stores.series.write("beta", "ep9", SeriesKind.feature, [Point("beta_feature", t, 987654.25) for t in times])
    stores.results.write(
        "beta", [AppResult("ep9", "beta-only-app", "general_drift", 0, 2, 987654.25, T0 - 20 * 60_000, T0 - 60_000)]
    )
    keys = make_keys(stores)
    revoked_key, revoked = stores.keys.create("revoked", None, "write")
    stores.keys.revoke(revoked_key.key_id)
    return Secrets(
        all_read=keys.all_read,
        all_write=keys.all_write,
        alpha_read=keys.alpha_read,
        alpha_write=keys.alpha_write,
        beta_read=stores.keys.create("beta-read", ["beta"], "read")[1],
        revoked=revoked,
    )
