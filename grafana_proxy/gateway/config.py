"""Typed view of the gateway knobs (timeouts and limits towards the model service)."""

from __future__ import annotations

from dataclasses import dataclass

from grafana_proxy.settings import Settings


@dataclass(frozen=True)
class GatewayConfig:
    gateway_connect_timeout: float
    gateway_read_timeout: float
    gateway_queue_size: int
    gateway_max_connections: int

    @classmethod
    def from_settings(cls, settings: Settings) -> GatewayConfig:
        return settings.derive(cls)
