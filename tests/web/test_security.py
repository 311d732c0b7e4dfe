"""Production refuses development defaults: at ``create_app`` and in ``startup_problems``."""

from __future__ import annotations

import pytest

from childsafe.config import DEFAULT_SECRET, Settings
from childsafe.errors import ConfigError
from childsafe.web.app import create_app
from childsafe.web.security import SQLITE_OPT_IN, startup_problems

STRONG = "s" * 40
PG = "postgresql+psycopg://svc@db.internal/childsafe"


def test_development_allows_defaults(settings: Settings) -> None:
    assert settings.env == "development" and settings.secret_key == DEFAULT_SECRET
    assert startup_problems(settings) == []


@pytest.mark.parametrize(
    ("update", "expected"),
    [
        ({"secret_key": DEFAULT_SECRET, "database_url": PG}, ["development default"]),
        ({"secret_key": "short", "database_url": PG}, ["at least 32"]),
        ({"secret_key": STRONG, "database_url": None}, ["SQLite"]),
        ({"secret_key": DEFAULT_SECRET, "database_url": None}, ["development default", "SQLite"]),
        ({"secret_key": STRONG, "database_url": PG}, []),
    ],
)
def test_production_problems(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    update: dict[str, object],
    expected: list[str],
) -> None:
    monkeypatch.delenv(SQLITE_OPT_IN, raising=False)
    s = settings.model_copy(update={"env": "production", **update})
    problems = startup_problems(s)
    assert len(problems) == len(expected)
    for problem, phrase in zip(problems, expected, strict=True):
        assert phrase in problem


def test_sqlite_in_production_needs_an_explicit_opt_in(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = settings.model_copy(update={"env": "production", "secret_key": STRONG})
    monkeypatch.setenv(SQLITE_OPT_IN, "1")
    assert startup_problems(s) == []


def test_unknown_environment_is_refused(settings: Settings) -> None:
    problems = startup_problems(settings.model_copy(update={"env": "prod"}))
    assert problems and "'development' or 'production'" in problems[0]


def test_create_app_refuses_to_start(settings: Settings) -> None:
    bad = settings.model_copy(update={"env": "production"})
    with pytest.raises(ConfigError, match=r"refusing to start in production.*SECRET_KEY"):
        create_app(bad)
