"""The Safety by Design self-assessment: the Develop / Deploy / Maintain principles (Thorn and
All Tech Is Human, *Safety by Design for Generative AI: Preventing Child Sexual Abuse*,
2024), each with a status and the evidence childsafe itself has recorded.

Why evidence-only: a self-assessment an organisation publishes is only worth something if
every "met" can be traced to a record, so no status here is typed in by hand. An item is
``met`` when childsafe's records show the practice end to end, ``partial`` when they show part
of it, ``not_met`` when childsafe's own configuration shows the capability is off (reporting
not configured, provenance keys absent), and ``unknown`` when childsafe simply has no record:
an organisation may do the work with other tools, and absence of a record is not a failure.
The principle texts are our paraphrases; the published document is the authority.

The evidence is gathered by the CLI (scan output folders, assessment run folders, the store,
the settings) into one :class:`Evidence` value, so this module reads files but never a
database, and a test can build any situation directly.
"""

from childsafe.assess.sbd.checklist import PRINCIPLES, STATUSES, Item, SbdReport, evaluate
from childsafe.assess.sbd.evidence import (
    AssessmentRecord,
    BankRecord,
    Evidence,
    ScanRecord,
    load_assessment,
    load_scan,
)
from childsafe.assess.sbd.render import render_html, render_markdown, write_report

__all__ = [
    "PRINCIPLES",
    "STATUSES",
    "AssessmentRecord",
    "BankRecord",
    "Evidence",
    "Item",
    "SbdReport",
    "ScanRecord",
    "evaluate",
    "load_assessment",
    "load_scan",
    "render_html",
    "render_markdown",
    "write_report",
]
