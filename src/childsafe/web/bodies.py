"""Request bodies read by hand: uploads (multipart or raw bytes) and JSON-or-file bodies.

Two shapes because clients differ: browsers and HMA clients send ``multipart/form-data``;
a generation pipeline posting its own output finds it simpler to send the bytes with
``Content-Type: application/octet-stream`` (or ``image/*``). Either way the bytes are held
in memory only for the request (the body limit caps them) and never written anywhere by
this module; parameters other than the file travel in the query string.

Routes that take an upload read the request themselves (FastAPI cannot declare "either of
these bodies"), so :func:`upload_openapi` documents both shapes for the OpenAPI schema, and
:func:`parse_json_body` gives a JSON body the same errors FastAPI's own parsing would
(400 for malformed JSON, 422 naming the bad field).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile

from childsafe.web.errors import ApiError, describe_validation

M = TypeVar("M", bound=BaseModel)

RAW_TYPES = ("application/octet-stream", "image/", "video/")
_NAME = re.compile(r"[A-Za-z0-9._ -]{1,100}")


@dataclass(slots=True)
class Upload:
    """The bytes, and a printable name to put in messages."""

    data: bytes
    name: str = "upload"
    key: str = "file"  # the form field it came in (HMA: the content type)


def _safe_name(raw: str | None) -> str:
    """A file name fit for an error message: plain characters only, else ``upload``."""
    return raw if raw and _NAME.fullmatch(raw) else "upload"


async def read_upload(request: Request, *, file_fields: tuple[str, ...] = ("file",)) -> Upload:
    """The one uploaded file; 400/415 with a clear message for anything else."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        return await _from_form(request, file_fields)
    if ctype.startswith(RAW_TYPES):
        data = await request.body()
        if not data:
            raise ApiError(400, "empty upload: the request body has no bytes", code="empty_upload")
        return Upload(data)
    want = "multipart/form-data (field 'file') or application/octet-stream"
    got = ctype or "no Content-Type"
    raise ApiError(415, f"unsupported content type {got[:60]!r}: send {want}")


async def _from_form(request: Request, file_fields: tuple[str, ...]) -> Upload:
    form = await request.form(max_files=2, max_fields=20)
    try:
        files = [(k, v) for k, v in form.multi_items() if isinstance(v, UploadFile)]
        fields = [k for k, v in form.multi_items() if isinstance(v, str)]
        if fields:
            raise ApiError(422, f"form field {fields[0][:40]!r}: unknown (send only the file)")
        if not files:
            names = " or ".join(repr(f) for f in file_fields)
            raise ApiError(
                400, f"no file in the form: upload one file as field {names}", code="missing_file"
            )
        if len(files) > 1:
            raise ApiError(400, "one file per request", code="too_many_files")
        key, upload = files[0]
        if key not in file_fields:
            names = " or ".join(repr(f) for f in file_fields)
            raise ApiError(400, f"the file must be in form field {names}", code="missing_file")
        data = await upload.read()
        if not data:
            raise ApiError(400, "empty upload: the file has no bytes", code="empty_upload")
        return Upload(data, _safe_name(upload.filename), key)
    finally:
        await form.close()


def upload_openapi(
    description: str, *, file_fields: tuple[str, ...] = ("file",), raw: bool = True
) -> dict[str, Any]:
    """``openapi_extra`` documenting the multipart and (optionally) raw-bytes bodies.

    The form holds exactly one file, in one of ``file_fields``, and nothing else.
    """
    binary = {"type": "string", "format": "binary", "minLength": 1}
    form: dict[str, Any] = {
        "type": "object",
        "properties": {f: binary for f in file_fields},
        "additionalProperties": False,
        "minProperties": 1,
        "maxProperties": 1,
    }
    if len(file_fields) == 1:
        form["required"] = list(file_fields)
    content: dict[str, Any] = {"multipart/form-data": {"schema": form}}
    if raw:
        content["application/octet-stream"] = {"schema": binary}
    return {"requestBody": {"required": True, "description": description, "content": content}}


async def parse_json_body(request: Request, model: type[M]) -> M:
    """The body as ``model``: 400 when it is not JSON, 422 naming the field that is wrong."""
    try:
        raw = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        why = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8"
        raise ApiError(
            400, f"request body is not valid JSON: {why}", code="malformed_json"
        ) from None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        status, code, message = describe_validation(errors)
        raise ApiError(status, message, code=code) from None


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s JSON schema with its ``$defs`` substituted in place.

    A schema put into ``openapi_extra`` sits deep inside the OpenAPI document, where
    pydantic's ``#/$defs/...`` references would resolve against the document root and
    break; request models are small and never recursive, so inlining is exact.
    """
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                target = resolve(defs[ref.removeprefix("#/$defs/")])
                rest = {k: resolve(v) for k, v in node.items() if k != "$ref"}
                return {**target, **rest}
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    resolved = resolve(schema)
    assert isinstance(resolved, dict)
    return resolved
