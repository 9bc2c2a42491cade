"""FastAPI dependencies for the objects ``create_app`` puts on ``app.state``. They are ``async def``
because they only read attributes: FastAPI runs a plain ``def`` dependency in the thread pool, a hop
that costs more than the dependency itself on every request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Stores
from grafana_proxy.targets.registry import TargetRegistry


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_stores(request: Request) -> Stores:
    stores: Stores = request.app.state.stores
    return stores


async def get_registry(request: Request) -> TargetRegistry:
    registry: TargetRegistry = request.app.state.registry
    return registry


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoresDep = Annotated[Stores, Depends(get_stores)]
RegistryDep = Annotated[TargetRegistry, Depends(get_registry)]
