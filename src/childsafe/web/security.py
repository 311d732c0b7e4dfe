"""Start-up checks: a production service refuses to run on development defaults.

Why refuse rather than warn: the deployment secret keys every stored API-key hash, so a
service on the public default secret has keys anyone could forge offline; and SQLite, fine
on a laptop, is one file on one disk with one writer, which is a decision log that can be
lost or stall a busy service. Nobody reads start-up warnings; a service that will not start
gets fixed. SQLite stays possible in production with an explicit opt-in
(``CHILDSAFE_ALLOW_SQLITE_IN_PRODUCTION=1``) for single-box deployments that chose it.
"""

from __future__ import annotations

import os

from childsafe.config import DEFAULT_SECRET, Settings
from childsafe.errors import ConfigError

MIN_SECRET_CHARS = 32
SQLITE_OPT_IN = "CHILDSAFE_ALLOW_SQLITE_IN_PRODUCTION"


def _opted_into_sqlite(settings: Settings) -> bool:
    field = getattr(settings, "allow_sqlite_in_production", None)
    if isinstance(field, bool):
        return field
    return os.environ.get(SQLITE_OPT_IN, "").strip().lower() in ("1", "true", "yes")


def startup_problems(settings: Settings) -> list[str]:
    """Everything that must change before this configuration may serve (empty: fine)."""
    env = settings.env.strip().lower()
    if env not in ("development", "production"):
        return [f"CHILDSAFE_ENV must be 'development' or 'production', not {settings.env!r}"]
    if env != "production":
        return []
    problems = []
    if settings.secret_key == DEFAULT_SECRET:
        problems.append(
            "CHILDSAFE_SECRET_KEY is the development default; set a random secret "
            f"(at least {MIN_SECRET_CHARS} characters, e.g. `openssl rand -hex 32`)"
        )
    elif len(settings.secret_key) < MIN_SECRET_CHARS:
        problems.append(
            f"CHILDSAFE_SECRET_KEY is {len(settings.secret_key)} characters; "
            f"production needs at least {MIN_SECRET_CHARS}"
        )
    if settings.effective_database_url.startswith("sqlite") and not _opted_into_sqlite(settings):
        problems.append(
            "the database is SQLite; set CHILDSAFE_DATABASE_URL to PostgreSQL, or opt in "
            f"explicitly with {SQLITE_OPT_IN}=1"
        )
    return problems


def check_startup(settings: Settings) -> None:
    """Raise ``ConfigError`` listing every problem, so one restart fixes them all."""
    problems = startup_problems(settings)
    if problems:
        raise ConfigError("refusing to start in production: " + "; ".join(problems))
