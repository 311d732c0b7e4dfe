"""The audit log: append-only, hash-chained, verifiable (see :mod:`childsafe.audit.base`)."""

from childsafe.audit.base import AuditEntry, AuditEvent, AuditLog, ChainCheck, entry_hash

__all__ = ["AuditEntry", "AuditEvent", "AuditLog", "ChainCheck", "entry_hash"]
