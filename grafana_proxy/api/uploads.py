"""Request bodies that may be large (batch files, training rows): written to a file under the data
directory as they arrive, so their size is bounded by ``batch_max_bytes`` (the body limit of the paths in
``middleware.LARGE_UPLOAD_SUFFIXES``) and disk, never by memory."""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi import Request

from grafana_proxy.settings import Settings


def upload_dir(settings: Settings) -> Path:
    directory = settings.data_dir / "batches"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


async def spooled_body(request: Request, settings: Settings) -> Path:
    """The request body in a temporary file, written as it arrives (bounded memory); the caller deletes it."""
    handle = tempfile.NamedTemporaryFile(dir=upload_dir(settings), prefix=".upload-", delete=False)
    path = Path(handle.name)
    try:
        with handle:
            async for part in request.stream():
                handle.write(part)
    except BaseException:  # the client went away or the body was too large: leave nothing behind
        path.unlink(missing_ok=True)
        raise
    return path
