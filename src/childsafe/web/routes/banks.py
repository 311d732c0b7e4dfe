"""``/v1/banks``: your tenant's hash lists (read: ``banks:read``; change: ``banks:write``).

Every route works on the caller's tenant's view of the store, so a bank of another tenant,
even one with the same name, does not exist here: 404, never 403, which would confirm it.
Changes are all-or-nothing (a bad hash anywhere refuses the whole request, naming its
position) and take effect for matching at once: the tenant's matcher is synced before the
answer.
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path as FilePath
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from childsafe.banks.base import Bank, ImportRecord, ImportResult
from childsafe.banks.formats import FORMATS
from childsafe.banks.importer import FileImportResult, import_file, remove_hashes
from childsafe.errors import BankError, BankImportError, HashFormatError
from childsafe.hashing.formats import canonical
from childsafe.types import HashType
from childsafe.web.bodies import inline_schema, parse_json_body, read_upload, upload_openapi
from childsafe.web.deps import CanReadBanks, CanWriteBanks, ServicesDep
from childsafe.web.errors import ApiError, domain_errors, error_responses
from childsafe.web.schemas import JsonInt, StrictIn
from childsafe.web.services import Services

router = APIRouter(
    prefix="/v1/banks", tags=["banks"], responses=error_responses(401, 403, 422, 429)
)

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
BankName = Annotated[str, Path(min_length=1, max_length=128, description="The bank's name.")]
FormatName = Literal["auto", "csv", "jsonl", "ncmec", "pytx", "text"]
assert set(FormatName.__args__) - {"auto"} == set(FORMATS), "keep FormatName in step"  # type: ignore[attr-defined]
MAX_ENTRIES = 100_000


class BankIn(StrictIn):
    name: str = Field(pattern=NAME_PATTERN, description="Letters, digits, '.', '_', '-'.")
    description: str = Field(default="", max_length=1000)
    pdq_radius: JsonInt = Field(default=31, ge=0, le=256, description="PDQ match distance.")
    pdq_quality_floor: JsonInt = Field(default=50, ge=0, le=100)


class BankOut(BaseModel):
    name: str
    version: int = Field(description="Goes up by one with every change.")
    created_at: datetime
    description: str
    pdq_radius: int
    pdq_quality_floor: int
    entry_count: int

    @classmethod
    def of(cls, b: Bank) -> BankOut:
        return cls(
            name=b.name,
            version=b.version,
            created_at=b.created_at,
            description=b.description,
            pdq_radius=b.pdq_radius,
            pdq_quality_floor=b.pdq_quality_floor,
            entry_count=b.entry_count,
        )


class BankList(BaseModel):
    banks: list[BankOut]


class EntryIn(StrictIn):
    hash_type: HashType
    value: str = Field(min_length=1, max_length=100_000)
    label: str | None = Field(default=None, max_length=200)
    source: str | None = Field(default=None, max_length=200)
    external_id: str | None = Field(default=None, max_length=200)


class EntriesIn(StrictIn):
    entries: list[EntryIn] = Field(min_length=1, max_length=MAX_ENTRIES)
    source: str = Field(
        default="api",
        min_length=1,
        max_length=200,
        description="Recorded on entries without their own and in the log.",
    )


class RemovalsIn(StrictIn):
    hash_type: HashType
    values: list[str] = Field(min_length=1, max_length=MAX_ENTRIES)


class ChangeOut(BaseModel):
    """What one all-or-nothing change did (``records == added + duplicates + removed``)."""

    bank: str
    version: int
    added: int
    duplicates: int
    removed: int
    records: int
    format: str | None = None
    skipped: dict[str, int] = Field(default_factory=dict)

    @classmethod
    def of(cls, r: ImportResult) -> ChangeOut:
        out = cls(
            bank=r.bank,
            version=r.version,
            added=r.added,
            duplicates=r.duplicates,
            removed=r.removed,
            records=r.records,
        )
        if isinstance(r, FileImportResult):
            out.format, out.skipped = r.format, dict(r.skipped)
        return out


def _synced(services: Services, tenant: str, result: ImportResult) -> ChangeOut:
    """Bring the tenant's matcher up to date so the change applies to the next request."""
    if result.added or result.removed:
        services.screener.sync(tenant)
    return ChangeOut.of(result)


@router.get("", summary="List your banks", response_model=BankList)
def list_banks(services: ServicesDep, principal: CanReadBanks) -> BankList:
    with domain_errors():
        banks = services.banks(principal.tenant).list_banks()
    return BankList(banks=[BankOut.of(b) for b in banks])


@router.post(
    "",
    summary="Create a bank",
    status_code=201,
    response_model=BankOut,
    responses=error_responses(409),
)
def create_bank(body: BankIn, services: ServicesDep, principal: CanWriteBanks) -> BankOut:
    store = services.banks(principal.tenant)
    with domain_errors():
        try:
            bank = store.create_bank(
                body.name,
                description=body.description,
                pdq_radius=body.pdq_radius,
                pdq_quality_floor=body.pdq_quality_floor,
            )
        except BankError as exc:
            raise ApiError(409, str(exc)) from None
    return BankOut.of(bank)


@router.get(
    "/{name}", summary="Show a bank", response_model=BankOut, responses=error_responses(404)
)
def get_bank(name: BankName, services: ServicesDep, principal: CanReadBanks) -> BankOut:
    with domain_errors():
        return BankOut.of(services.banks(principal.tenant).get_bank(name))


@router.delete(
    "/{name}",
    summary="Delete a bank and all its entries",
    status_code=204,
    response_class=Response,
    responses=error_responses(404),
)
def delete_bank(name: BankName, services: ServicesDep, principal: CanWriteBanks) -> Response:
    with domain_errors():
        services.banks(principal.tenant).delete_bank(name)
        services.screener.sync(principal.tenant)
    return Response(status_code=204)


def _records(body: EntriesIn) -> list[ImportRecord]:
    out = []
    for i, e in enumerate(body.entries, 1):
        try:
            value = canonical(e.hash_type.value, e.value)
        except HashFormatError as exc:
            raise BankImportError(str(exc), source="entries", line=i) from None
        out.append(
            ImportRecord(
                e.hash_type.value, value, e.label, e.source or body.source, e.external_id, line=i
            )
        )
    return out


_ENTRIES_BODY = upload_openapi(
    'Entries as JSON (`{"entries": [{"hash_type", "value", "label"?}], "source"?}`) '
    "or a hash-list file (multipart field `file`): csv, jsonl, NCMEC XML, "
    "python-threatexchange or one hash per line.",
    raw=False,
)
_ENTRIES_BODY["requestBody"]["content"] = {
    "application/json": {"schema": inline_schema(EntriesIn)},
    **_ENTRIES_BODY["requestBody"]["content"],
}


@router.post(
    "/{name}/entries",
    summary="Add entries (JSON list or a hash-list file)",
    response_model=ChangeOut,
    responses=error_responses(400, 404, 413, 415),
    openapi_extra=_ENTRIES_BODY,
)
async def add_entries(
    name: BankName,
    request: Request,
    services: ServicesDep,
    principal: CanWriteBanks,
    format: Annotated[FormatName, Query(description="File format (files only).")] = "auto",
    hash_type: Annotated[HashType | None, Query(description="For files without one.")] = None,
    label: Annotated[str | None, Query(max_length=200)] = None,
    source: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
) -> ChangeOut:
    """All or nothing: a bad hash anywhere refuses the request and names its position.
    Hashes already in the bank count as duplicates; the bank's version goes up only when
    something changed."""
    store = services.banks(principal.tenant)
    tenant = principal.tenant
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/json":
        body = await parse_json_body(request, EntriesIn)

        def apply() -> ChangeOut:
            records = _records(body)
            return _synced(services, tenant, store.apply(name, records, source=body.source))

        with domain_errors():
            return await run_in_threadpool(apply)
    upload = await read_upload(request)
    suffix = FilePath(upload.name).suffix if upload.name != "upload" else ""

    def run() -> ChangeOut:
        store.get_bank(name)  # 404 before parsing anything
        with tempfile.TemporaryDirectory(prefix="childsafe-import-") as tmp:
            path = FilePath(tmp) / f"upload{suffix}"
            path.write_bytes(upload.data)
            found = import_file(
                store,
                name,
                path,
                fmt=format,
                hash_type=hash_type,
                create=False,
                label=label,
                source=source or upload.name,
            )
        return _synced(services, tenant, found)

    with domain_errors():
        return await run_in_threadpool(run)


@router.post(
    "/{name}/removals",
    summary="Remove hashes from a bank",
    response_model=ChangeOut,
    responses=error_responses(400, 404, 413),
)
def remove_entries(
    name: BankName, body: RemovalsIn, services: ServicesDep, principal: CanWriteBanks
) -> ChangeOut:
    """Tombstones the hashes (history is kept; the version goes up). Hashes not in the bank
    count as duplicates."""
    store = services.banks(principal.tenant)
    with domain_errors():
        store.get_bank(name)
        result = remove_hashes(store, name, body.hash_type.value, body.values)
        return _synced(services, principal.tenant, result)
