"""The one FastAPI dependency for what ``create_app`` was given: the process's ``Runtime``. It is
``async def`` because it only reads an attribute: FastAPI runs a plain ``def`` dependency in the
thread pool, a hop that costs more than the dependency itself on every request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Request

from grafana_proxy.runtime import Runtime


def runtime_of(app: FastAPI) -> Runtime:
    """The runtime ``create_app`` attached to ``app`` (also for tests and lifespans)."""
    runtime: Runtime = app.state.runtime
    return runtime


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
