"""The Policies & Practices and Processes & Systems facts, from configuration and history.

Only what the deployment can show is claimed: a policy version is listed when it was active
at some moment of the period (from the activation log, not today's state), a hotline when
credentials are configured or a report to it was filed, a detection method when a bank
exists or an actioned item was found that way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from childsafe.config import Settings
from childsafe.transparency.metrics import Practices

_METHODS = {
    "hash": "hash matching against known-material lists",
    "classifier": "classifiers (triage only: every hit goes to human review)",
    "user_report": "user reports",
    "hotline_notice": "hotline and third-party notices",
    "dataset_scan": "training-data scans",
    "model_scan": "model assessments",
}
_DESTINATIONS = {
    "ncmec": "NCMEC CyberTipline (Reporting API)",
    "c3p": "Canadian Centre for Child Protection, Cybertip.ca (structured export)",
    "nca": "UK National Crime Agency (structured export)",
}


def policies_in_force(
    activations: Sequence[tuple[int, datetime]],
    names: Mapping[int, str],
    since: datetime,
    until: datetime,
) -> tuple[str, ...]:
    """Versions active at some time in ``[since, until)``; ``activations`` newest first."""
    ordered = sorted(activations, key=lambda a: a[1])
    out: list[str] = []
    for i, (version, at) in enumerate(ordered):
        ends = ordered[i + 1][1] if i + 1 < len(ordered) else None
        if at < until and (ends is None or ends > since):
            label = f"{names.get(version, 'policy')} v{version} (activated {at.date()})"
            if label not in out:
                out.append(label)
    return tuple(out)


def practices_from(
    settings: Settings,
    *,
    policies: Sequence[str] = (),
    banks: Iterable[str] = (),
    sources_seen: Mapping[str, int] | None = None,
    destinations_used: Iterable[str] = (),
) -> Practices:
    destinations = set(destinations_used)
    if settings.ncmec_username:
        destinations.add("ncmec")
    methods: list[str] = []
    bank_names = sorted(banks)
    if bank_names:
        methods.append(f"hash matching (banks: {', '.join(bank_names)})")
    for source, n in (sources_seen or {}).items():
        if n and not (source == "hash" and bank_names):
            methods.append(_METHODS.get(source, source))
    return Practices(
        policy_versions=tuple(policies),
        destinations=tuple(_DESTINATIONS.get(d, d) for d in sorted(destinations)),
        evidence_retention_days=settings.evidence_retention_days,
        review_media_retention_days=settings.review_media_retention_days,
        detection_methods=tuple(methods),
        second_review=settings.second_review,
        daily_reveal_limit=settings.reviewer_daily_reveals,
    )
