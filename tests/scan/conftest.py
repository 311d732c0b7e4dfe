"""Fixtures for scan tests: a SQLite bank store with a demo bank of generated images."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.scan.scanfix import plant

from childsafe.banks.base import BankStore
from childsafe.storage import open_store

PLANTED = [3, 7, 11]


@pytest.fixture
def bank_store(tmp_path: Path) -> Iterator[BankStore]:
    store = open_store(f"sqlite:///{tmp_path / 'banks.db'}")
    plant(store, "demo", PLANTED)
    yield store
    store.close()
