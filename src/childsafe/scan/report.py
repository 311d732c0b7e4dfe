"""``report.html``: one self-contained page a reviewer can open from the scan directory.

It is rendered from ``summary.json``'s data alone, so it can be re-rendered later and says
nothing the summary does not. No scripts, no external assets, no links to or copies of
content (DESIGN rule 2): item ids, paths and reasons come from datasets nobody controls,
so every value goes through :func:`html.escape` — there is no code path that writes a
value unescaped. Built with the standard library rather than a template engine so the page
needs no extra dependency.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

MAX_SHARD_ROWS = 500
"""Shards listed in the page; all of them are in ``summary.json``."""

_CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;color:#1d1d1f;
padding:0 1rem}h1{font-size:1.5rem}
h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0}
td,th{padding:.25rem .6rem;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.cards{display:flex;gap:1rem;flex-wrap:wrap}
.card{border:1px solid #ddd;border-radius:6px;padding:.6rem 1rem;min-width:8rem}
.card b{display:block;font-size:1.4rem}.bad b{color:#b00020}
.warn{background:#fff6e0;border-left:4px solid #e0a000;padding:.4rem .8rem}
code,pre{font-size:13px;background:#f5f5f7;padding:.1rem .3rem;overflow-wrap:anywhere}
pre{padding:.6rem;white-space:pre-wrap}
"""


def esc(value: Any) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    return html.escape("" if value is None else str(value), quote=True)


def _table(head: Sequence[str], rows: Iterable[Sequence[Any]], numeric: set[int]) -> str:
    cells = "".join(
        f"<th{' class=n' if i in numeric else ''}>{esc(h)}</th>" for i, h in enumerate(head)
    )
    body = []
    for row in rows:
        tds = "".join(
            f"<td{' class=n' if i in numeric else ''}>{esc(v)}</td>" for i, v in enumerate(row)
        )
        body.append(f"<tr>{tds}</tr>")
    if not body:
        return "<p>None.</p>"
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _counts(title: str, counts: Mapping[str, int]) -> str:
    return _table((title, "count"), sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])), {1})


def _cards(items: Mapping[str, Any]) -> str:
    shown = [
        ("items", items.get("total"), False),
        ("kept (allow)", items.get("kept"), False),
        ("quarantined", items.get("quarantined"), bool(items.get("quarantined"))),
        ("block", items.get("block"), bool(items.get("block"))),
        ("review", items.get("review"), bool(items.get("review"))),
        ("errors", items.get("error"), bool(items.get("error"))),
        ("duplicate ids", items.get("duplicate_ids"), bool(items.get("duplicate_ids"))),
    ]
    cards = "".join(
        f'<div class="card{" bad" if bad else ""}"><b>{esc(v)}</b>{esc(label)}</div>'
        for label, v, bad in shown
    )
    return f'<div class="cards">{cards}</div>'


def _next_steps(data: Mapping[str, Any]) -> str:
    items = data.get("items", {})
    outputs = data.get("outputs", {})
    removal = outputs.get("removal_list", {})
    steps = [
        f"{esc(items.get('quarantined', 0))} quarantined items (block and review) are listed "
        "with their reasons and provenance in <code>quarantine.parquet</code>. Keep that file "
        "private: it says which items were flagged. Items under review need a human decision "
        "before anything is reported; a known-hash match is evidence for a report.",
        f"<code>removal_list.txt</code> ({esc(removal.get('count', 0))} ids) is the list you can "
        "publish: removals mixed with decoys drawn from kept items, sorted. Do not publish "
        "<code>summary.json</code> or this page — they hold the decoy seed.",
        "<code>kept_ids.txt</code> and <code>clean/</code> hold only items that were checked and "
        "allowed.",
    ]
    if items.get("error"):
        steps.append(
            f"{esc(items.get('error'))} item(s) could not be checked and are in neither list: see "
            "<code>errors.parquet</code>, fix the cause (errors by kind below) and re-run with "
            "<code>--resume</code>."
        )
    return "<ol>" + "".join(f"<li>{s}</li>" for s in steps) + "</ol>"


def _shards(data: Mapping[str, Any]) -> str:
    timing = data.get("timing", {}).get("shards", {})
    shards = data.get("shards", [])
    rows = [
        (
            s.get("shard_id"),
            s.get("source"),
            s.get("rows"),
            s.get("allow"),
            s.get("quarantined"),
            s.get("error"),
            timing.get(s.get("shard_id"), {}).get("seconds", "resumed"),
        )
        for s in shards[:MAX_SHARD_ROWS]
    ]
    head = ("shard", "source", "rows", "allow", "quarantined", "errors", "seconds")
    out = _table(head, rows, {2, 3, 4, 5, 6})
    if len(shards) > MAX_SHARD_ROWS:
        out += (
            f"<p>First {MAX_SHARD_ROWS} of {esc(len(shards))} shards; all are in summary.json.</p>"
        )
    return out


def _reproducibility(rep: Mapping[str, Any]) -> str:
    banks = _table(
        ("bank", "version"), [(b["name"], b["version"]) for b in rep.get("banks", [])], set()
    )
    models = _table(
        ("model", "version", "licence"),
        [(m["name"], m["version"], m["licence"]) for m in rep.get("models", [])],
        set(),
    )
    policy = rep.get("policy", {})
    facts = [
        ("childsafe", rep.get("childsafe_version")),
        ("python / pyarrow", f"{rep.get('python')} / {rep.get('pyarrow')}"),
        ("policy", f"{policy.get('name')} version {policy.get('version')}"),
        ("hash types", ", ".join(rep.get("hash_types", []))),
        ("config fingerprint", rep.get("config_fingerprint")),
        ("sources", ", ".join(map(str, rep.get("sources", [])))),
        ("shards", rep.get("shard_count")),
        ("decoy ratio", rep.get("removal_list", {}).get("decoy_ratio")),
    ]
    config = json.dumps(rep.get("config", {}), indent=2, sort_keys=True, default=str)
    return (
        _table(("", ""), facts, set())
        + "<h3>Banks</h3>"
        + banks
        + "<h3>Models</h3>"
        + (
            models
            if rep.get("models")
            else "<p>No classifier ran: decisions come from hash matches only.</p>"
        )
        + f"<details><summary>configuration</summary><pre>{esc(config)}</pre></details>"
    )


def render_report(data: Mapping[str, Any]) -> str:
    """The HTML page for one scan's summary data."""
    items = data.get("items", {})
    timing = data.get("timing", {})
    reasons = data.get("reasons", {})
    banks = [
        (b.get("name"), b.get("version"), b.get("matches"), b.get("items"),
         ", ".join(f"{t}: {n}" for t, n in b.get("by_hash_type", {}).items()))
        for b in data.get("banks", [])
    ]  # fmt: skip
    clean = [
        (name, ", ".join(f"{k}: {v}" for k, v in stats.items()))
        for name, stats in data.get("outputs", {}).get("clean", {}).items()
    ]
    warnings = "".join(f'<p class="warn">{esc(w)}</p>' for w in data.get("warnings", []))
    sections = [
        "<h1>childsafe scan report</h1>",
        f"<p>Scan from {esc(timing.get('started_at'))} to {esc(timing.get('finished_at'))}, "
        f"{esc(timing.get('executor'))} executor with {esc(timing.get('workers'))} workers, "
        f"{esc(timing.get('items_per_second'))} items/s. This page lists ids, counts and "
        "provenance only; it never shows content.</p>",
        _cards(items),
        warnings,
        "<h2>What to do next</h2>",
        _next_steps(data),
        "<h2>Reasons</h2>",
        _counts("reason kind", reasons.get("by_prefix", {})),
        _counts("reason", reasons.get("by_reason", {})),
        "<h2>Banks</h2>",
        _table(("bank", "version", "matches", "items", "by hash type"), banks, {2, 3}),
        "<h2>Errors by kind</h2>",
        _counts("kind", data.get("errors", {}).get("by_kind", {})),
        "<h2>Shards</h2>",
        _shards(data),
        "<h2>Clean outputs</h2>",
        _table(("file", "counts"), clean, set()),
        "<h2>Reproducibility</h2>",
        _reproducibility(data.get("reproducibility", {})),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\">"
        f"<title>childsafe scan report</title><style>{_CSS}</style></head><body>\n"
        + "\n".join(sections)
        + "\n</body></html>\n"
    )
