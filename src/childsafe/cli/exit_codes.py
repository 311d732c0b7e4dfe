"""Exit codes every command shares, so scripts can rely on them."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """``0`` clean, ``1`` something was found, ``>= 2`` something went wrong.

    ``FOUND`` wins over ``ITEM_ERRORS``: a match is the finding a script must act on, and the
    per-item errors are still reported (stderr, and the ``error`` field with ``--json``).
    """

    OK = 0
    FOUND = 1
    USAGE = 2  # click's own code for bad arguments
    ITEM_ERRORS = 3  # some inputs could not be processed; the rest were
    FAILURE = 4  # the command could not run (database, missing bank, bad bank file)
