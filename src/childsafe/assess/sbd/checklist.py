"""The checklist: the nine principles, each judged from :class:`Evidence` alone.

Each rule returns a status, the evidence lines it cites and the gaps that would move it up.
``evaluate`` enforces the one rule no principle may break: nothing is ``met`` without a
record to show.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from childsafe.assess.sbd.evidence import AssessmentRecord, Evidence

__all__ = ["PRINCIPLES", "RETENTION_DAYS", "STATUSES", "Item", "SbdReport", "evaluate"]

STATUSES = ("met", "partial", "not_met", "unknown")
RETENTION_DAYS = 365  # 18 U.S.C. 2258A(h) as amended by the REPORT Act: one year


@dataclass(frozen=True, slots=True)
class Item:
    id: str
    stage: str
    principle: str
    status: str
    evidence: tuple[str, ...]
    gaps: tuple[str, ...]  # what would move the status up


@dataclass(frozen=True, slots=True)
class SbdReport:
    items: tuple[Item, ...]
    evidence: Evidence

    def counts(self) -> dict[str, int]:
        return {s: sum(i.status == s for i in self.items) for s in STATUSES}

    def to_dict(self) -> dict[str, Any]:
        ev = asdict(self.evidence)
        ev["collected_at"] = self.evidence.collected_at.isoformat()
        return {
            "format": "childsafe-sbd/1",
            "framework": "Safety by Design for Generative AI (Thorn, All Tech Is Human, 2024)",
            "generated_at": self.evidence.collected_at.isoformat(),
            "counts": self.counts(),
            "items": [asdict(i) for i in self.items],
            "evidence": ev,
        }


_Verdict = tuple[str, list[str], list[str]]  # status, evidence lines, gaps


def _datasets(ev: Evidence) -> _Verdict:
    scans = [s for s in ev.scans if s.items > 0]
    if not scans:
        return "unknown", [], ["scan training data with `childsafe scan` and pass --scan DIR"]
    items = sum(s.items for s in scans)
    quarantined = sum(s.quarantined for s in scans)
    lines = [f"{len(scans)} dataset scan(s): {items} items, {quarantined} quarantined"]
    banks = sorted({b for s in scans for b in s.banks})
    classifiers = sorted({c for s in scans for c in s.classifiers})
    gaps = []
    if banks:
        lines.append("hash lists matched: " + ", ".join(banks))
    else:
        gaps.append("no scan matched against a hash list (banks): known material was not checked")
    if classifiers:
        lines.append("classifiers used: " + ", ".join(classifiers))
    else:
        gaps.append("no scan used a classifier: new material was not triaged")
    return ("met" if not gaps else "partial"), lines, gaps


def _probe_runs(ev: Evidence) -> list[AssessmentRecord]:
    return [a for a in ev.assessments if a.kind == "probe_run"]


def _stress_testing(ev: Evidence) -> _Verdict:
    runs = _probe_runs(ev)
    if not runs:
        return "unknown", [], ["run `childsafe assess run` and pass --assessment RUN_DIR"]
    lines = []
    for r in runs:
        state = "finished" if r.finished else "unfinished"
        grade = f", grade {r.grade}" if r.grade else ""
        rate = f", unsafe rate {r.unsafe_rate:.2%}" if r.unsafe_rate is not None else ""
        lines.append(f"probe run {r.name}: {state}{grade}{rate}")
    scored = [r for r in runs if r.finished and r.scored]
    if not scored:
        return "partial", lines, ["score a finished run (`childsafe assess report RUN_DIR`)"]
    if len(scored) < 2:
        return "met", lines, ["compare successive versions in CI (`childsafe assess compare`)"]
    return "met", lines, []


def _provenance(ev: Evidence) -> _Verdict:
    if ev.provenance_configured:
        return "met", ["C2PA signing certificate and key are configured"], []
    return "not_met", [], ["set CHILDSAFE_PROVENANCE_CERT and CHILDSAFE_PROVENANCE_KEY"]


def _safeguards(ev: Evidence) -> _Verdict:
    if ev.banks is None or ev.decisions is None:
        return "unknown", [], ["the database could not be read: " + "; ".join(ev.problems)]
    lines, gaps = [], []
    loaded = [b for b in ev.banks if b.entries > 0]
    if loaded:
        lines.append(
            f"{len(loaded)} hash list(s) with entries: "
            + ", ".join(f"{b.name} v{b.version} ({b.entries})" for b in loaded)
        )
    else:
        gaps.append("import a hash list (`childsafe banks import`)")
    total = sum(ev.decisions.values())
    if total:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(ev.decisions.items()))
        lines.append(f"{total} screening decisions logged ({counts})")
    else:
        gaps.append("no screening decision logged: screen inputs and outputs (`childsafe serve`)")
    if ev.active_policies:
        lines.append(f"{ev.active_policies} tenant(s) with an active screening policy")
    if not lines:
        return "not_met", lines, gaps
    return ("met" if not gaps else "partial"), lines, gaps


def _hosting(ev: Evidence) -> _Verdict:
    scans = [a for a in ev.assessments if a.kind == "model_scan"]
    lines = [
        f"model scan {a.name}: {a.models_scanned} models, {a.models_flagged} flagged" for a in scans
    ]
    runs = [r for r in _probe_runs(ev) if r.finished]
    if runs:
        lines.append(f"{len(runs)} model(s) stress-tested before release")
    flagged = sum(a.models_flagged for a in scans)
    if scans and flagged and not ev.actions_configured:
        gap = f"{flagged} flagged model(s): review them and configure takedown actions"
        return "partial", lines, [gap]
    if scans:
        return "met", lines, []
    if runs:
        return "partial", lines, ["scan hosted models (`childsafe assess models`)"]
    return "unknown", lines, ["scan hosted models (`childsafe assess models`)"]


def _ownership(ev: Evidence) -> _Verdict:
    runs = _probe_runs(ev)
    cards = [r for r in runs if r.model_card]
    reports = [r for r in runs if r.scored]
    lines = [f"model-card child-safety section for {r.name}" for r in cards]
    if cards:
        return "met", lines, []
    if reports:
        lines = [f"assessment report for {r.name}" for r in reports]
        return "partial", lines, ["publish the model-card section the report writes"]
    return "unknown", [], ["write an assessment report with a model-card section"]


def _harmful_tools(ev: Evidence) -> _Verdict:
    scans = [a for a in ev.assessments if a.kind == "model_scan"]
    lines, gaps = [], []
    if scans:
        lines.append(f"{len(scans)} hosted-model scan(s) looking for models built for abuse")
    else:
        gaps.append("scan hosted models and tools regularly (`childsafe assess models`)")
    if ev.actions_configured:
        lines.append("takedown actions are configured (signed webhook)")
    else:
        gaps.append("configure takedown actions (CHILDSAFE_WEBHOOK_URL)")
    if not lines:
        return "unknown", lines, gaps
    return ("met" if not gaps else "partial"), lines, gaps


def _research(ev: Evidence) -> _Verdict:
    return "unknown", [], ["childsafe records no research work: describe your own here"]


def _fight(ev: Evidence) -> _Verdict:
    lines, gaps = [], []
    if ev.reporting_configured:
        lines.append(f"CyberTipline reporting configured ({ev.reporting_environment})")
        if ev.reporting_environment != "production":
            gaps.append("reporting points at the NCMEC test environment")
    else:
        gaps.append("configure CyberTipline reporting (CHILDSAFE_NCMEC_USERNAME)")
    if ev.reviewers:
        lines.append(f"{ev.reviewers} reviewer account(s)")
    elif ev.reviewers == 0:
        gaps.append("add reviewers (`childsafe reviewers add`)")
    if ev.second_review:
        lines.append("a second reviewer confirms every violation before it is reported")
    if ev.retention_days is not None:
        if ev.retention_days >= RETENTION_DAYS:
            lines.append(f"reported content is preserved {ev.retention_days} days")
        else:
            gaps.append(f"retention {ev.retention_days} days is under {RETENTION_DAYS}")
    if not ev.reporting_configured and not ev.reviewers:
        return "not_met", lines, gaps
    return ("met" if not gaps and ev.reviewers else "partial"), lines, gaps


PRINCIPLES: tuple[tuple[str, str, str, Callable[[Evidence], _Verdict]], ...] = (
    ("develop.1", "Develop", "Source training data responsibly: detect, remove and report "
     "abuse material in it, and keep sexual content apart from depictions of children.",
     _datasets),
    ("develop.2", "Develop", "Stress-test models for child-safety failures during development "
     "and feed what is found back into training.", _stress_testing),
    ("develop.3", "Develop", "Mark generated content with provenance that is built to resist "
     "removal by people misusing the model.", _provenance),
    ("deploy.4", "Deploy", "Protect products from abusive content and conduct: screen inputs "
     "and outputs, match known material, act on what is found.", _safeguards),
    ("deploy.5", "Deploy", "Host models responsibly: assess first-party and third-party models "
     "before hosting, and remove those built to sexualise children.", _hosting),
    ("deploy.6", "Deploy", "Encourage developer ownership: publish child-safety information "
     "about each model.", _ownership),
    ("maintain.7", "Maintain", "Keep services from scaling access to tools built for abuse "
     "(for example models or apps made to sexualise children).", _harmful_tools),
    ("maintain.8", "Maintain", "Invest in research and new technical defences as misuse "
     "changes.", _research),
    ("maintain.9", "Maintain", "Fight abuse material, AI-generated or not, on the platform: "
     "detect, review, preserve and report it.", _fight),
)  # fmt: skip


def evaluate(evidence: Evidence) -> SbdReport:
    """Every principle with its status, the evidence cited and the gaps."""
    items = []
    for pid, stage, text, rule in PRINCIPLES:
        status, lines, gaps = rule(evidence)
        if status == "met" and not lines:  # never "met" without a record to show
            status = "unknown"
        items.append(Item(pid, stage, text, status, tuple(lines), tuple(gaps)))
    return SbdReport(tuple(items), evidence)
