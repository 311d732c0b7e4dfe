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

DEFAULT_SECRET = "change-me-development-only"


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
    thresholds: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description="Classifier thresholds by classifier and label, e.g. "
        '{"nsfw": {"nsfw": 0.8}}; each overrides that classifier\'s documented default.',
    )
    model_threads: int = Field(
        default=1,
        ge=1,
        le=256,
        description="Threads per model session; worker processes already use every core.",
    )
    text_backend: str = Field(
        default="auto",
        description="Text encoder: 'onnx' (ONNX Runtime, same numbers as NumPy, ~3.5x faster),"
        " 'onnx-int8' (8-bit weights, faster again, embeddings within cosine 0.99), 'numpy',"
        " or 'auto' (onnx when installed, else numpy).",
    )
    text_max_chars: int = Field(
        default=20_000,
        ge=100,
        description="Longer texts are scored on their first this-many characters, and say so.",
    )
    openai_api_key: str | None = Field(default=None, description="Key for OpenAI moderation.")
    openai_base_url: str = Field(
        default="https://api.openai.com/v1", description="OpenAI-compatible API base URL."
    )
    hive_api_key: str | None = Field(default=None, description="Key for Hive moderation.")
    hive_url: str = Field(
        default="https://api.thehive.ai/api/v2/task/sync",
        description="Hive synchronous task endpoint.",
    )
    safer_api_key: str | None = Field(default=None, description="Key for Thorn Safer.")
    safer_url: str | None = Field(
        default=None, description="Thorn Safer API base URL (given with your account)."
    )
    classifier_timeout_s: float = Field(
        default=10.0, gt=0, description="Timeout of one call to an external classifier."
    )
    env: str = Field(
        default="development",
        description="'development' or 'production'; production refuses default secrets.",
    )
    secret_key: str = Field(
        default=DEFAULT_SECRET,
        description="Deployment secret: keys API-key hashes. Must be set in production.",
    )
    max_request_bytes: int = Field(
        default=20 * 1024 * 1024, ge=1024, description="Larger request bodies get HTTP 413."
    )
    rate_limit_per_minute: int = Field(
        default=6000, ge=1, description="Requests per minute per API key (token bucket)."
    )
    default_tenant: str = Field(
        default="default", description="Tenant of the CLI and of banks made before tenants."
    )
    provenance_cert: Path | None = Field(
        default=None, description="PEM certificate chain for signing C2PA manifests."
    )
    provenance_key: Path | None = Field(
        default=None, description="PEM private key for signing C2PA manifests."
    )
    # Review, evidence and reporting (issue 6) ------------------------------------------------
    evidence_key: str | None = Field(
        default=None,
        description="Key (32+ characters) that encrypts the evidence store at rest; "
        "derived from secret_key when unset. Must be set in production.",
    )
    evidence_retention_days: int = Field(
        default=365,
        ge=1,
        description="How long reported content is kept (18 U.S.C. 2258A(h), REPORT Act: 1 year).",
    )
    review_media_retention_days: int = Field(
        default=30,
        ge=1,
        description="How long content waiting for review is kept when no report follows.",
    )
    keep_review_media: bool = Field(
        default=True,
        description="Keep screened images that open a case, encrypted, for the reviewer.",
    )
    reviewer_daily_reveals: int = Field(
        default=50, ge=0, description="Default per-reviewer limit of media reveals per day."
    )
    sla_hours: dict[str, float] = Field(
        default_factory=lambda: {"1": 1.0, "2": 4.0, "3": 24.0, "4": 72.0},
        description="Hours to a first decision per case priority (1 = most urgent).",
    )
    second_review: bool = Field(
        default=True,
        description="Require a second reviewer's agreement before a report is filed.",
    )
    ncmec_environment: str = Field(
        default="test", description="CyberTipline environment: 'test' or 'production'."
    )
    ncmec_url: str | None = Field(
        default=None, description="Override the CyberTipline base URL (a fake in tests)."
    )
    ncmec_username: str | None = Field(default=None, description="CyberTipline username.")
    ncmec_password: str | None = Field(default=None, description="CyberTipline password.")
    webhook_url: str | None = Field(
        default=None, description="Where takedown/suspend actions are POSTed (signed)."
    )
    webhook_secret: str | None = Field(
        default=None, description="HMAC-SHA-256 key that signs action webhooks."
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
