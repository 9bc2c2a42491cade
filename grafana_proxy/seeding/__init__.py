"""Synthetic, realistic monitoring data: endpoints with reference statistics, traffic and latency
series, feature series with drift that starts part-way, and monitoring-application results."""

from grafana_proxy.seeding.seeder import SeedOptions, SeedReport, seed_project

__all__ = ["SeedOptions", "SeedReport", "seed_project"]
