"""Export confirmed hashes for sharing, in python-threatexchange's CSV format.

The file is what ``threatexchange dataset --csv`` writes (``banks/formats/pytx.py``: header
``signal_type,signal_str,collab,category,tags``), so HMA, python-threatexchange and our own
``banks import pytx`` read it back. What leaves the deployment is deliberately less than the
bank holds: ``collab`` is the name the sharer chooses (the tenant by default), never the
entry's internal provenance (``case:<id>``, ``decision:<id>``), and ``tags`` is the industry
classification. Hashes only: no content, no case or user ids.

"Hashes contributed" in a transparency report is the count of distinct hashes the ledger
says were first confirmed in the period (:meth:`HashLedger.contributed`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import IO

from childsafe.actions.base import HashLedger
from childsafe.actions.reupload import DEFAULT_BANK
from childsafe.banks.base import BankEntry, BankStore
from childsafe.banks.formats import pytx


def _shareable(entries: Iterator[BankEntry], collab: str) -> Iterator[BankEntry]:
    for e in entries:
        if not e.deleted:
            yield replace(e, source=collab, external_id=None, member=None)


def export_confirmed(
    banks: BankStore,
    tenant: str,
    stream: IO[str],
    *,
    bank: str = DEFAULT_BANK,
    collab: str | None = None,
    hash_type: str | None = None,
) -> int:
    """Write the live confirmed hashes of ``tenant`` to ``stream``; how many were written.

    Raises ``BankNotFound`` when the tenant has confirmed nothing yet (no bank).
    """
    store = banks.for_tenant(tenant)
    store.get_bank(bank)
    entries = store.iter_entries(bank, hash_type=hash_type)
    return pytx.write(_shareable(entries, collab or tenant), stream)


def hashes_contributed(
    ledger: HashLedger, tenant: str, *, since: datetime | None, until: datetime | None
) -> int:
    """Distinct hashes first confirmed in ``since <= t < until`` (for transparency)."""
    return ledger.contributed(tenant, since=since, until=until)
