"""The whole schema in one ``MetaData``: the core tables and each area's.

Alembic's environment and the migrations-match-models test import this module, so a table
added in an area module is checked against its migration.
"""

from __future__ import annotations

from childsafe.storage import models_actions, models_audit, models_reporting, models_review
from childsafe.storage.models import metadata

__all__ = ["metadata"]
_AREAS = (models_audit, models_review, models_reporting, models_actions)
