"""A :class:`TransparencyReport` as JSON, CSV (``metric,value`` rows) or one HTML file.

The HTML follows the Tech Coalition TRUST template's three sections (Policies & Practices,
Processes & Systems, Outcomes) and is self-contained: inline CSS, charts as inline SVG bars,
no script, font, image or link to anything outside the file, so it can be published or
archived as it is and opened offline years later. Every string is escaped.

CSV rows use dotted metric names (``detection_source.hash``) so a spreadsheet or an EU
structured-statistics template can pick the figures it needs; a figure that was not
measured is an empty cell, never a zero.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from datetime import datetime
from html import escape
from typing import Any

from childsafe.transparency.metrics import TransparencyReport

FORMAT = "childsafe-transparency/1"
Scalar = str | int | float | bool | None


def _iso(dt: datetime) -> str:
    return dt.isoformat(timespec="seconds")


def to_dict(r: TransparencyReport) -> dict[str, Any]:
    """The JSON document (``format`` names its version)."""
    p = r.practices
    return {
        "format": FORMAT,
        "tenant": r.tenant,
        "period": {"since": _iso(r.since), "until": _iso(r.until)},
        "generated_at": _iso(r.generated_at),
        "policies_and_practices": {
            "policy_versions": list(p.policy_versions),
            "reporting_destinations": list(p.destinations),
            "evidence_retention_days": p.evidence_retention_days,
            "review_media_retention_days": p.review_media_retention_days,
        },
        "processes_and_systems": {
            "detection_methods": list(p.detection_methods),
            "second_review": p.second_review,
            "daily_reveal_limit": p.daily_reveal_limit,
            "wellness": list(p.wellness),
        },
        "outcomes": {
            "cases_opened": r.cases_opened,
            "cases_actioned": r.cases_actioned,
            "content_actioned": r.content_actioned,
            "accounts_actioned": r.accounts_actioned,
            "detection_sources": dict(r.detection_sources),
            "proactive_rate": r.proactive_rate,
            "time_to_action_median_s": r.time_to_action_median_s,
            "time_to_action_p90_s": r.time_to_action_p90_s,
            "appeals_filed": r.appeals_filed,
            "appeals_restored": r.appeals_restored,
            "appeals_upheld": r.appeals_upheld,
            "reports_filed": r.reports_filed,
            "files_reported": r.files_reported,
            "reports_by_destination": dict(r.reports_by_destination),
            "reports_by_state": dict(r.reports_by_state),
            "hashes_contributed": r.hashes_contributed,
            "dataset_scans": r.dataset.scans,
            "dataset_items_scanned": r.dataset.scanned,
            "dataset_items_removed": r.dataset.removed,
            "dataset_items_unreadable": r.dataset.errors,
            "verdicts": None if r.verdicts is None else dict(r.verdicts),
            "verdicts_by_source": (
                None
                if r.verdicts_by_source is None
                else {k: dict(v) for k, v in r.verdicts_by_source.items()}
            ),
        },
        "caveats": list(r.caveats),
    }


def to_json(r: TransparencyReport) -> str:
    return json.dumps(to_dict(r), indent=2, ensure_ascii=False) + "\n"


def _flatten(prefix: str, value: Any, out: list[tuple[str, Scalar]]) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(value, list):
        out.append((prefix, "; ".join(str(v) for v in value)))
    else:
        out.append((prefix, value))


def rows(r: TransparencyReport) -> list[tuple[str, Scalar]]:
    """``(metric, value)`` pairs, section by section."""
    doc = to_dict(r)
    out: list[tuple[str, Scalar]] = [
        ("tenant", r.tenant),
        ("period.since", doc["period"]["since"]),
        ("period.until", doc["period"]["until"]),
    ]
    for section in ("policies_and_practices", "processes_and_systems", "outcomes"):
        _flatten("", doc[section], out)
    return out


def to_csv(r: TransparencyReport) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(("metric", "value"))
    for metric, value in rows(r):
        w.writerow((metric, "" if value is None else value))
    return buf.getvalue()


# -- HTML -----------------------------------------------------------------------------------

_CSS = """
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
color:#1d2327}
h1{font-size:1.6rem}h2{border-bottom:2px solid #2c5d8f;padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0}td,th{padding:.25rem .8rem;text-align:left;
border-bottom:1px solid #ddd}td.n{text-align:right;font-variant-numeric:tabular-nums}
.caveat{background:#fff6d6;border-left:4px solid #d9a400;padding:.6rem 1rem}
.muted{color:#666}svg text{font:12px system-ui,sans-serif}
"""


def _fmt(value: Scalar) -> str:
    if value is None:
        return "not measured"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.1%}" if value <= 1 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return value


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "not measured"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _table(pairs: list[tuple[str, str]]) -> str:
    body = "".join(
        f'<tr><th scope="row">{escape(k)}</th><td class="n">{escape(v)}</td></tr>' for k, v in pairs
    )
    return f"<table>{body}</table>"


def _list(items: tuple[str, ...], empty: str) -> str:
    if not items:
        return f'<p class="muted">{escape(empty)}</p>'
    return "<ul>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>"


def svg_bars(title: str, data: Mapping[str, int]) -> str:
    """A horizontal bar chart as inline SVG (no script, no external reference)."""
    if not data:
        return f'<p class="muted">{escape(title)}: none in this period.</p>'
    top = max(max(data.values()), 1)
    row_h, label_w, bar_w = 24, 170, 360
    height = row_h * len(data) + 8
    parts = [
        f'<svg role="img" aria-label="{escape(title)}" width="{label_w + bar_w + 80}" '
        f'height="{height}" viewBox="0 0 {label_w + bar_w + 80} {height}">'
    ]
    for i, (label, n) in enumerate(data.items()):
        y = i * row_h + 4
        w = round(bar_w * n / top)
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{w}" height="{row_h - 6}" fill="#2c5d8f"/>'
            f'<text x="{label_w + w + 6}" y="{y + 15}">{n:,}</text>'
        )
    parts.append("</svg>")
    return f"<figure><figcaption>{escape(title)}</figcaption>{''.join(parts)}</figure>"


def to_html(r: TransparencyReport) -> str:
    p = r.practices
    period = f"{_iso(r.since)} to {_iso(r.until)} (UTC, end exclusive)"
    policies = (
        "<h3>Policies in force</h3>"
        + _list(p.policy_versions, "the built-in default policy")
        + "<h3>Reporting destinations</h3>"
        + _list(p.destinations, "none configured")
        + _table(
            [
                ("Evidence retention", f"{p.evidence_retention_days} days"),
                ("Unreported review media kept", f"{p.review_media_retention_days} days"),
            ]
        )
    )
    processes = (
        "<h3>Detection methods</h3>"
        + _list(p.detection_methods, "none recorded")
        + _table(
            [
                ("Second review before a report", _fmt(p.second_review)),
                ("Reviewer daily reveal limit", _fmt(p.daily_reveal_limit)),
            ]
        )
        + "<h3>Reviewer wellness</h3>"
        + _list(p.wellness, "none recorded")
    )
    outcome_rows = [
        ("Cases opened", _fmt(r.cases_opened)),
        ("Cases actioned", _fmt(r.cases_actioned)),
        ("Content actioned", _fmt(r.content_actioned)),
        ("Accounts actioned", _fmt(r.accounts_actioned)),
        ("Proactive rate", _fmt(r.proactive_rate)),
        ("Median time to action", _duration(r.time_to_action_median_s)),
        ("90th percentile time to action", _duration(r.time_to_action_p90_s)),
        ("Reports filed", _fmt(r.reports_filed)),
        ("Files in filed reports", _fmt(r.files_reported)),
        ("Appeals filed", _fmt(r.appeals_filed)),
        ("Content restored on appeal", _fmt(r.appeals_restored)),
        ("Appeals upheld", _fmt(r.appeals_upheld)),
        ("Hashes contributed", _fmt(r.hashes_contributed)),
        ("Dataset items scanned", _fmt(r.dataset.scanned)),
        ("Dataset items removed", _fmt(r.dataset.removed)),
    ]
    outcomes = (
        _table(outcome_rows)
        + svg_bars("Content actioned by detection source", r.detection_sources)
        + svg_bars("Reports filed by destination", r.reports_by_destination)
        + (svg_bars("Screening verdicts", r.verdicts) if r.verdicts is not None else "")
    )
    caveats = "".join(f'<p class="caveat">{escape(c)}</p>' for c in r.caveats)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Transparency report: {escape(r.tenant)}</title>"
        f"<style>{_CSS}</style></head><body>"
        f"<h1>Child safety transparency report</h1>"
        f'<p>{escape(r.tenant)} &middot; {escape(period)} &middot; <span class="muted">'
        f"generated {escape(_iso(r.generated_at))}</span></p>{caveats}"
        f'<section id="policies"><h2>Policies &amp; Practices</h2>{policies}</section>'
        f'<section id="processes"><h2>Processes &amp; Systems</h2>{processes}</section>'
        f'<section id="outcomes"><h2>Outcomes</h2>{outcomes}</section>'
        "</body></html>\n"
    )


RENDERERS = {"json": to_json, "csv": to_csv, "html": to_html}
