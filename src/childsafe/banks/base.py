"""Banks: named, versioned hash lists with per-entry provenance, and the store that keeps them.

``BankStore`` is the narrow interface the domain uses; ``childsafe.storage`` implements it
on SQLAlchemy (SQLite by default, PostgreSQL by URL). The library never imports the storage
layer: callers pass a store in.

Every change to a bank (an import, a removal) is one transaction that bumps the bank's
``version``; entries remember the version that added and the version that removed them, so
an index built at version v can catch up with :meth:`BankStore.changes_since` instead of a
full rebuild.

Banks belong to a tenant (one client of a moderation vendor's deployment). A store sees the
banks of one tenant, ``store.tenant``; ``store.for_tenant(name)`` is the same store seen as
another tenant. Bank names are unique per tenant only, so every method takes a bank name and
can never reach another tenant's bank of the same name. Banks made before tenants belong to
``default``; the CLI works as ``Settings.default_tenant`` (``default`` unless set).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

DEFAULT_TENANT = "default"


@dataclass(frozen=True, slots=True)
class Bank:
    """A named hash list. ``pdq_radius`` and ``pdq_quality_floor`` apply to its PDQ matches."""

    name: str
    version: int
    created_at: datetime
    description: str = ""
    pdq_radius: int = 31
    pdq_quality_floor: int = 50
    entry_count: int = 0
    tenant: str = DEFAULT_TENANT


@dataclass(frozen=True, slots=True)
class BankEntry:
    """One hash in a bank, with where it came from."""

    entry_id: int
    bank: str
    hash_type: str
    value: str
    label: str | None
    source: str | None
    external_id: str | None
    member: str | None
    added_at: datetime
    added_version: int
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class ImportRecord:
    """One parsed line of a hash-list file. ``deleted`` marks a tombstone (removes the hash)."""

    hash_type: str
    value: str
    label: str | None = None
    source: str | None = None
    external_id: str | None = None
    member: str | None = None
    deleted: bool = False
    line: int | None = None


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What one all-or-nothing change did to a bank."""

    bank: str
    version: int
    added: int
    duplicates: int
    removed: int
    records: int


@dataclass(frozen=True, slots=True)
class AllowedHash:
    """A false-positive (allow-list) entry: matches of this hash in the bank are suppressed."""

    bank: str
    hash_type: str
    value: str
    reason: str
    added_at: datetime


@dataclass(frozen=True, slots=True)
class BankChanges:
    """Entries added and entry ids removed after a version, for incremental index updates."""

    bank: str
    from_version: int
    to_version: int
    added: list[BankEntry]
    removed: list[int]


class BankStore(ABC):
    """Persistence of banks, entries and allow-lists, as seen by one tenant."""

    tenant: str = DEFAULT_TENANT

    def for_tenant(self, tenant: str) -> BankStore:
        """This store as ``tenant`` sees it: only that tenant's banks, for every method.

        Stores without tenancy (test doubles) hold one tenant's banks and refuse others.
        """
        if tenant == self.tenant:
            return self
        raise NotImplementedError(f"{type(self).__name__} holds the banks of one tenant only")

    @abstractmethod
    def create_bank(
        self,
        name: str,
        *,
        description: str = "",
        pdq_radius: int = 31,
        pdq_quality_floor: int = 50,
        exist_ok: bool = False,
    ) -> Bank:
        """Create a bank (version 0); ``exist_ok`` returns the existing one instead of failing."""

    @abstractmethod
    def get_bank(self, name: str) -> Bank:
        """The bank of that name; raises ``BankNotFound``."""

    @abstractmethod
    def list_banks(self) -> list[Bank]:
        """All banks, by name."""

    @abstractmethod
    def delete_bank(self, name: str) -> None:
        """Drop a bank and all its entries and allow-list; raises ``BankNotFound``."""

    @abstractmethod
    def apply(self, name: str, records: Sequence[ImportRecord], *, source: str) -> ImportResult:
        """Add entries and apply tombstones in one transaction, bumping the bank's version.

        Duplicates (already present and not deleted, or repeated in ``records``) are counted,
        not doubled. On any error nothing is written.
        """

    @abstractmethod
    def iter_entries(
        self, name: str, *, hash_type: str | None = None, include_deleted: bool = False
    ) -> Iterator[BankEntry]:
        """Entries of a bank, ordered by entry id."""

    @abstractmethod
    def changes_since(self, name: str, version: int) -> BankChanges:
        """Entries added and removed after ``version`` up to the bank's current version."""

    @abstractmethod
    def add_allowed(self, name: str, hash_type: str, values: Iterable[str], reason: str) -> int:
        """Add hashes to a bank's false-positive list; returns how many were new."""

    @abstractmethod
    def remove_allowed(self, name: str, hash_type: str, values: Iterable[str]) -> int:
        """Remove hashes from the false-positive list; returns how many were removed."""

    @abstractmethod
    def allowed(self, name: str) -> list[AllowedHash]:
        """A bank's false-positive list."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
