"""One typed settings object, read from ``CHILDSAFE_*`` environment variables.

Defaults are safe for a laptop: an embedded SQLite database under ``CHILDSAFE_HOME`` (a
per-user data directory) and conservative decoding limits. Production points
``CHILDSAFE_DATABASE_URL`` at PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_home() -> Path:
    return Path(platformdirs.user_data_dir("childsafe", appauthor=False))


class Settings(BaseSettings):
    """Settings for the library, the CLI and (later) the service."""

    model_config = SettingsConfigDict(env_prefix="CHILDSAFE_", extra="ignore")

    home: Path = Field(default_factory=_default_home, description="State directory.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default is SQLite at $CHILDSAFE_HOME/childsafe.db.",
    )
    max_image_pixels: int = Field(
        default=100_000_000,
        description="Decompression-bomb limit: images with more pixels are refused.",
    )
    max_file_bytes: int = Field(
        default=2 * 1024**3, description="Files larger than this are refused, not read."
    )
    pdq_radius: int = Field(default=31, ge=0, le=256, description="Default PDQ match radius.")
    pdq_quality_floor: int = Field(
        default=50, ge=0, le=100, description="PDQ hashes under this quality are not matched."
    )
    allowed_plugins: list[str] | None = Field(
        default=None,
        description="Plugin names allowed besides the built-ins; None allows built-ins only.",
    )

    @property
    def effective_database_url(self) -> str:
        """The database URL in use, defaulting to SQLite inside ``home``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'childsafe.db'}"

    @property
    def index_dir(self) -> Path:
        """Where built indexes are saved so a matcher starts in seconds."""
        return self.home / "indexes"
