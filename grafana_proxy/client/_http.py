"""What the sync and async clients share: headers, the answer's parsing, and batch upload sources."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, TypeVar

import httpx

from grafana_proxy.client.errors import error_for
from grafana_proxy.client.operations import Op, Upload

T = TypeVar("T")
CHUNK_BYTES = 1 << 20
KEY_HEADER = "X-V3io-Session-Key"


def headers(key: str | None) -> dict[str, str]:
    return {} if key is None else {KEY_HEADER: key}


def answer(op: Op[T], response: httpx.Response) -> T:
    """The parsed answer, or the server's error as an exception carrying its message."""
    try:
        body: Any = response.json() if response.content else None
    except ValueError:
        body = None
    if response.status_code >= 400:
        raise error_for(response.status_code, body, response.text[:500])
    return op.parse(body)


def request_args(op: Op[Any]) -> dict[str, Any]:
    args: dict[str, Any] = {"params": list(op.params)}
    if op.json is not None:
        args["json"] = op.json
    if op.upload is not None:
        args["headers"] = {"Content-Type": op.upload.content_type}
        args["timeout"] = None  # the server answers once every row is stored: large files take minutes
    return args


def file_chunks(upload: Upload) -> Iterator[bytes]:
    total, sent = upload.path.stat().st_size, 0
    with upload.path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            sent += len(chunk)
            if upload.progress is not None:
                upload.progress(sent, total)
            yield chunk


async def file_chunks_async(upload: Upload) -> AsyncIterator[bytes]:
    for chunk in file_chunks(upload):  # local reads of 1 MB: short enough to do on the loop
        yield chunk


def done(upload: Upload | None) -> None:
    if upload is not None and upload.delete_after:
        upload.path.unlink(missing_ok=True)
