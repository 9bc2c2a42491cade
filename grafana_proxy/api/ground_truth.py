"""``POST /api/v1/projects/{project}/ground-truth``: true labels that arrive after the inference,
joined by the model-performance application on ``request_id``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from grafana_proxy.api.schemas import MAX_ITEMS, Timestamp
from grafana_proxy.auth import WritableProject
from grafana_proxy.deps import RuntimeDep
from grafana_proxy.errors import json_response
from grafana_proxy.identifiers import EndpointId, RequestId
from grafana_proxy.model import GroundTruth

router = APIRouter(prefix="/api/v1/projects/{project}", tags=["ingest"])

Label = str | int | float | bool


class LabelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    request_id: RequestId
    value: Label | list[Label] = Field(description="The true label, or one label per row of the request.")
    timestamp: Timestamp | None = None
    endpoint_id: EndpointId | None = None


class GroundTruthIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    labels: list[LabelIn] = Field(max_length=MAX_ITEMS)


@router.post("/ground-truth", summary="Post true labels of earlier inferences (by request_id)")
async def post_ground_truth(project: WritableProject, body: GroundTruthIn, runtime: RuntimeDep) -> Response:
    received = runtime.clock()
    labels = [
        GroundTruth(
            request_id=item.request_id,
            value=item.value,
            timestamp=received if item.timestamp is None else item.timestamp,
            endpoint_uid=item.endpoint_id,
        )
        for item in body.labels
    ]

    def write() -> dict[str, Any]:
        return {"received": len(labels), "written": runtime.stores.ground_truth.write(project, labels)}

    return json_response(await run_in_threadpool(write))
