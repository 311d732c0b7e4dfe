"""Every error childsafe raises on purpose, in one tree.

    ChildsafeError                 base: catch this to handle any childsafe failure
    ├── ConfigError                settings that cannot work (bad URL, unwritable home)
    │   └── PolicyError            a policy document that is not valid (lists every problem)
    ├── ContentError               one item could not be read or decoded
    │   ├── UnsupportedContent     not a kind this hasher handles (a text file given to pdq)
    │   ├── CorruptContent         truncated, zero-byte or undecodable bytes
    │   └── ContentTooLarge        over a size or pixel limit (decompression bombs)
    ├── SourceError                a whole dataset source that cannot be read (missing
    │                              file, no reader fits, a table without usable columns)
    ├── HashFormatError            a hash string that is not valid for its type
    ├── BankError                  bank store problems
    │   ├── BankNotFound
    │   └── BankImportError        a bank file that cannot be imported (carries the line number)
    ├── IndexError_                index files that are missing, stale or damaged
    ├── PluginError                a plugin not on the allow-list, or one that fails to load
    ├── ScanError                  a dataset scan that must stop (rerun with --resume)
    │   ├── ShardFailed            a shard's task raised (carries the shard id)
    │   ├── WorkerCrashed          a worker process died while it ran a shard
    │   └── ScanOutputError        a part that breaks the results contract
    ├── ScreenError                a screening request that cannot be screened (also ValueError)
    ├── ReviewError                a review transition that is not allowed (names case and rule)
    ├── EvidenceError              evidence that may not be read, is destroyed, held or tampered
    ├── AuditError                 an audit log that cannot be written or read
    ├── ReportingError             a hotline report that cannot be built or filed
    │   └── ReportRejected         the hotline answered with an error code (carries it)
    ├── ActionError                a platform action (webhook) that cannot be sent
    ├── AssessError                a model assessment that cannot run (bad suite, target)
    └── guard.result.Blocked       the guard withheld a generation (carries the verdict)

Why a tree: batch commands turn a ``ContentError`` into a per-item error row and go on
(DESIGN rule 4), while a ``BankImportError`` aborts the whole import (all-or-nothing). The
message of every error names the item it is about, so it can be shown to a user as it is.
"""

from __future__ import annotations


class ChildsafeError(Exception):
    """Base class of every error childsafe raises on purpose."""


class ConfigError(ChildsafeError):
    """Settings that cannot work."""


class ContentError(ChildsafeError):
    """One item could not be read, decoded or hashed; the batch goes on."""


class UnsupportedContent(ContentError):
    """The item is not of a kind this hasher handles."""


class CorruptContent(ContentError):
    """The bytes are truncated, empty or not decodable."""


class ContentTooLarge(ContentError):
    """The item is over a configured size or pixel limit."""


class SourceError(ChildsafeError):
    """A dataset source that cannot be scanned at all; the message names the source.

    Raised while planning a scan (``reader_for``, ``Reader.shards``), never while reading a
    shard: once planned, an unreadable member becomes an error item instead.
    """


class HashFormatError(ChildsafeError, ValueError):
    """A hash string that is not valid for its hash type."""


class BankError(ChildsafeError):
    """A bank store problem."""


class BankNotFound(BankError, KeyError):
    """No bank of that name."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0]) if self.args else "bank not found"


class BankImportError(BankError):
    """A bank file that cannot be imported; nothing was written.

    ``line`` is the 1-based line (or record) number of the first bad record, when known.
    """

    def __init__(self, message: str, *, source: str = "", line: int | None = None) -> None:
        self.source = source
        self.line = line
        where = source
        if line is not None:
            where = f"{source}:{line}" if source else f"line {line}"
        super().__init__(f"{where}: {message}" if where else message)


class IndexError_(ChildsafeError):  # noqa: N801 - the builtin IndexError is taken
    """An index file that is missing, stale or damaged."""


class PluginError(ChildsafeError):
    """A plugin that is not allowed or fails to load."""


RESUME_HINT = "finished shards are saved: rerun with --resume to continue"


class ScanError(ChildsafeError):
    """A dataset scan that must stop; what finished is kept for ``--resume``."""


class ShardFailed(ScanError):
    """A shard's task raised: the scan stops. The cause is chained."""

    def __init__(self, shard_id: str, reason: str) -> None:
        super().__init__(f"shard {shard_id} failed: {reason}; {RESUME_HINT}")
        self.shard_id = shard_id


class WorkerCrashed(ScanError):
    """A worker process died (killed, out of memory) while it ran a shard."""


class ScanOutputError(ScanError):
    """A part that breaks the results contract (wrong schema, unknown decision); names the part."""


class PolicyError(ConfigError):
    """A policy document that is not valid: ``problems`` lists each one, naming its field.

    A policy is configuration, so a bad one is refused whole when it is loaded or stored, never
    half-applied at screening time.
    """

    def __init__(self, message: str, *, problems: list[str] | None = None) -> None:
        self.problems = list(problems or [])
        super().__init__(message)


class ScreenError(ChildsafeError, ValueError):
    """A screening request that cannot be screened as given (empty text, image bytes on a text
    kind, a kind the tenant's policy has no rule for); the message names the request.

    Content that was given but cannot be *checked* (an undecodable image) is not this error: it
    gets a verdict under the policy's ``on_error`` outcome, because it was really submitted.
    """


class ReviewError(ChildsafeError):
    """A review transition that is not allowed: deciding a case not claimed, a second review
    by the first reviewer, a reveal past the daily limit, an unknown reason code. The message
    names the case or item and the rule."""


class EvidenceError(ChildsafeError):
    """Evidence that may not be read by this role, was destroyed, is under legal hold (for a
    destruction), or fails decryption (tampered ciphertext or a wrong key)."""


class AuditError(ChildsafeError):
    """An audit log that cannot be appended to or read (the chain head is missing)."""


class ReportingError(ChildsafeError):
    """A hotline report that cannot be built (a required field missing) or filed."""


class ReportRejected(ReportingError):
    """The hotline answered with an error response code (``code``, e.g. 4100 validation)."""

    def __init__(self, message: str, *, code: int) -> None:
        self.code = code
        super().__init__(message)


class ActionError(ChildsafeError):
    """A platform action (signed webhook) that cannot be sent or configured."""


class AssessError(ChildsafeError):
    """A model assessment that cannot run: a bad probe suite, an unreachable target, a
    comparison of runs of different suites."""
