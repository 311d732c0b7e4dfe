"""A screener over the real classifiers with an in-memory log, and a request helper."""

from __future__ import annotations

from typing import Any

import pytest
from tests.screening.samples import Request

from childsafe.config import Settings
from childsafe.screening.base import ContentKind, ScreenRequest, Subject
from childsafe.screening.memory_log import MemoryDecisionLog
from childsafe.screening.screener import Screener


@pytest.fixture
def log() -> MemoryDecisionLog:
    return MemoryDecisionLog()


@pytest.fixture
def screener(settings: Settings, log: MemoryDecisionLog) -> Screener:
    return Screener(settings=settings, decision_log=log)


@pytest.fixture
def req() -> Request:
    def make(kind: str | ContentKind, tenant: str = "default", **fields: Any) -> ScreenRequest:
        subject = fields.pop("subject", Subject())
        return ScreenRequest(ContentKind(kind), tenant, subject=subject, **fields)

    return make
