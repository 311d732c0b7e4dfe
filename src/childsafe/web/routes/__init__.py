"""One router per area; ``ROUTERS`` is the order they appear in the OpenAPI document."""

from __future__ import annotations

from fastapi import APIRouter

from childsafe.web.routes import banks, decisions, hashes, health, hma, match, reports, screen

ROUTERS: tuple[APIRouter, ...] = (
    screen.router,
    reports.router,
    hashes.router,
    match.router,
    banks.router,
    decisions.router,
    hma.router,
    health.router,
)
