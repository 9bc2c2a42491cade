"""FastAPI dependencies for the objects ``create_app`` puts on ``app.state``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Stores
from grafana_proxy.targets.registry import TargetRegistry


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_stores(request: Request) -> Stores:
    stores: Stores = request.app.state.stores
    return stores


def get_registry(request: Request) -> TargetRegistry:
    registry: TargetRegistry = request.app.state.registry
    return registry


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoresDep = Annotated[Stores, Depends(get_stores)]
RegistryDep = Annotated[TargetRegistry, Depends(get_registry)]
