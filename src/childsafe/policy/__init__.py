"""Policies: matches and scores in, a ``Verdict`` with reasons out (see ``base``)."""

from childsafe.policy.base import Decision, Policy, Verdict
from childsafe.policy.default import DefaultPolicy

__all__ = ["Decision", "DefaultPolicy", "Policy", "Verdict"]
