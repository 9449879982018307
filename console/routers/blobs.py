"""Blobs API: frames and clips of the evidence, with their content type and range requests."""

from __future__ import annotations

import mimetypes
import re
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse, Response

from console.deps import Role, ServicesDep, require
from console.users import User
from core.errors import BadInput, NotFound

router = APIRouter(prefix="/api/blobs", tags=["blobs"])

_REF = re.compile(r"^sha256:[0-9a-f]{64}\.[a-z0-9]{1,10}$")
_TYPES = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp",
          "wav": "audio/wav", "mp3": "audio/mpeg", "ogg": "audio/ogg", "opus": "audio/ogg",
          "m4a": "audio/mp4", "aac": "audio/aac", "mp4": "video/mp4", "webm": "video/webm",
          "ts": "video/mp2t", "mkv": "video/x-matroska", "txt": "text/plain", "html": "text/plain",
          "json": "application/json", "pcm": "application/octet-stream"}
READ_ROLES = (Role.OPERATOR, Role.HANDLER, Role.SUPERVISOR, Role.ANALYST)


def content_type(ref: str) -> str:
    ext = ref.rsplit(".", 1)[-1]
    return _TYPES.get(ext) or mimetypes.guess_type(f"x.{ext}")[0] or "application/octet-stream"


@router.get("/{ref}", summary="One blob (frame, audio or video clip)", response_class=FileResponse)
def get_blob(ref: str, svc: ServicesDep, user: Annotated[User, Depends(require(*READ_ROLES))],
             format: Annotated[Literal["mp4"] | None, Query(  # noqa: A002 - the query parameter's name
                 description="mp4: an MPEG-TS clip remuxed for browsers")] = None) -> Response:
    if not _REF.match(ref):
        raise BadInput(f"malformed blob ref {ref!r}", hint="a ref looks like sha256:<64 hex>.<ext>")
    if not svc.blobs.exists(ref):
        raise NotFound(f"blob {ref} does not exist", hint="it may have been purged by retention")
    if format == "mp4" and ref.endswith(".ts"):
        from console.remux import ts_to_mp4

        return Response(ts_to_mp4(svc.blobs.path(ref)), media_type="video/mp4",
                        headers={"Cache-Control": "private, max-age=86400"})
    # Page text is served as plain text, never as HTML of this origin.
    return FileResponse(svc.blobs.path(ref), media_type=content_type(ref),
                        headers={"Cache-Control": "private, max-age=86400, immutable"})
