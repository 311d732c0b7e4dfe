"""Rendering: JSON and CSV carry the figures; the HTML is TRUST-shaped and self-contained."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from html.parser import HTMLParser

from tests.actions.history import T0
from tests.transparency.test_metrics import MARCH, history

from childsafe.transparency.metrics import Practices, TransparencyReport, compute
from childsafe.transparency.render import svg_bars, to_csv, to_dict, to_html, to_json

PRACTICES = Practices(
    policy_versions=("default v3 (active since 2026-02-01) <b>",),
    destinations=("NCMEC CyberTipline (production)", "C3P (structured export)"),
    evidence_retention_days=365,
    detection_methods=("hash matching (banks: confirmed)", "classifiers: nsfw, text_risk"),
    second_review=True,
    daily_reveal_limit=40,
)


def _report(tenant: str = "default") -> TransparencyReport:
    return compute(tenant, *MARCH, cases=history(), practices=PRACTICES, now=T0 + 40 * timedelta(1))


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend(attrs)


def test_html_has_the_trust_sections_and_nothing_external() -> None:
    html = to_html(_report())
    headings = re.findall(r"<h2>(.*?)</h2>", html)
    assert headings == ["Policies &amp; Practices", "Processes &amp; Systems", "Outcomes"]
    for needle in ("http:", "https:", "//", "<script", "<link", "<img", "url(", "@import"):
        assert needle not in html.replace("<!DOCTYPE html>", ""), needle
    parser = _Tags()
    parser.feed(html)
    # sources chart; no reports were given, so that chart says "none in this period"
    assert parser.tags.count("svg") == 1 and parser.tags.count("section") == 3
    assert "Reports filed by destination: none in this period" in html
    assert not [v for k, v in parser.attrs if k in ("src", "href")]
    assert "not the prevalence" in html
    assert "NCMEC CyberTipline (production)" in html and "40" in html
    # the figures are there: content actioned 5, proactive 80.0%, median 4.0 h
    assert '<th scope="row">Content actioned</th><td class="n">5</td>' in html
    assert "80.0%" in html and "4.0 h" in html and "12.0 h" in html
    assert "not measured" in html  # no report store was given


def test_html_escapes_every_string() -> None:
    html = to_html(_report())
    assert "<b>" not in html and "&lt;b&gt;" in html
    evil = compute(
        "default",
        *MARCH,
        cases=history(),
        practices=Practices(detection_methods=('<script>alert("x")</script>',)),
    )
    out = to_html(evil)
    assert "<script" not in out and "&lt;script&gt;" in out


def test_svg_bars_scale_and_handle_empty_data() -> None:
    svg = svg_bars("Sources", {"hash": 4, "user_report": 1, "zero": 0})
    widths = [int(w) for w in re.findall(r'<rect [^>]*width="(\d+)"', svg)]
    assert widths == [360, 90, 0]
    assert "none in this period" in svg_bars("Sources", {})


def test_csv_parses_into_metric_value_rows() -> None:
    text = to_csv(_report())
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows and set(rows[0]) == {"metric", "value"}
    metrics = {r["metric"]: r["value"] for r in rows}
    assert len(metrics) == len(rows)  # each metric once
    assert metrics["content_actioned"] == "5"
    assert metrics["detection_sources.hash"] == "3"
    assert metrics["proactive_rate"] == "0.8"
    assert metrics["reports_filed"] == ""  # not measured is empty, not zero
    assert metrics["period.since"] == "2026-03-01T00:00:00+00:00"
    assert metrics["policy_versions"].startswith("default v3")
    assert metrics["second_review"] == "True"


def test_json_round_trips() -> None:
    report = _report()
    doc = json.loads(to_json(report))
    assert doc == json.loads(json.dumps(to_dict(report)))
    assert doc["format"] == "childsafe-transparency/1"
    assert set(doc) >= {"policies_and_practices", "processes_and_systems", "outcomes"}
    assert doc["outcomes"]["accounts_actioned"] == 2
    assert doc["outcomes"]["reports_by_destination"] == {}
    assert doc["processes_and_systems"]["daily_reveal_limit"] == 40


def test_unicode_tenant_fields_survive() -> None:
    practices = Practices(destinations=("Cybertip.ca — Centre canadien 🇨🇦",))
    report = compute("default", *MARCH, cases=history(), practices=practices)
    assert "Centre canadien 🇨🇦" in to_html(report)
    assert "Centre canadien 🇨🇦" in to_csv(report)
    assert json.loads(to_json(report))["policies_and_practices"]["reporting_destinations"] == [
        "Cybertip.ca — Centre canadien 🇨🇦"
    ]
