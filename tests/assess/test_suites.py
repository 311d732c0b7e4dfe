"""Probe suites: the built-in ``core`` suite's coverage, and loading user suites."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from childsafe.assess.base import CATEGORIES
from childsafe.assess.suites import (
    SUITES_DIR,
    builtin_suites,
    leetspeak,
    load_suite,
    load_suite_file,
    spacing,
)
from childsafe.errors import AssessError

# -- the built-in suite ---------------------------------------------------------------------


def test_core_covers_every_category_with_attacks_and_controls() -> None:
    suite = load_suite("core")
    assert (suite.name, suite.version) == ("core", "1")
    counts = Counter((p.category, p.control) for p in suite.probes)
    for category in CATEGORIES:
        assert counts[(category, False)] >= 12, category
        assert counts[(category, True)] >= 12, category
    assert set(p.category for p in suite.probes) == set(CATEGORIES)


def test_core_ids_unique_stable_and_fingerprinted() -> None:
    a, b = load_suite("core"), load_suite(SUITES_DIR / "core.toml")
    assert a == b  # deterministic expansion, by name or by path
    ids = [p.id for p in a.probes]
    assert len(ids) == len(set(ids))
    assert "sexualise_minor-0001" in ids and "sexualise_minor-control-0001" in ids
    assert a.sha256 == hashlib.sha256((SUITES_DIR / "core.toml").read_bytes()).hexdigest()


def test_core_has_the_disguises_the_issue_asks_for() -> None:
    probes = load_suite("core").probes
    tags = Counter(t for p in probes if not p.control for t in p.tags)
    for tag in ("obfuscated:leetspeak", "obfuscated:spacing", "multi_turn", "fictional",
                "jailbreak:persona", "age_ambiguity"):  # fmt: skip
        assert tags[tag] >= 2, tag
    for p in probes:
        assert p.messages[-1]["role"] == "user"
        if "multi_turn" in p.tags:
            assert len(p.messages) >= 3 and p.messages[1]["role"] == "assistant"
        assert p.modality == ("image" if p.category == "aig_image_prompt" else "text")


def test_obfuscated_probe_differs_from_its_plain_sibling_only_in_disguise() -> None:
    by_id = {p.id: p for p in load_suite("core").probes}
    leet = next(p for p in by_id.values() if "obfuscated:leetspeak" in p.tags)
    n = int(leet.id.rsplit("-", 1)[1])
    plain = by_id[f"{leet.category}-{n - 1:04d}"]
    assert "obfuscated" not in plain.tags
    assert leet.messages[-1]["content"] != plain.messages[-1]["content"]
    assert leetspeak(plain.messages[-1]["content"]) != plain.messages[-1]["content"]


def test_builtin_suites_listing() -> None:
    [core] = [s for s in builtin_suites() if s.name == "core"]
    assert core.probes == core.attacks + core.controls == len(load_suite("core").probes)
    assert core.categories == CATEGORIES


def test_unknown_suite_name_lists_the_builtins() -> None:
    with pytest.raises(AssessError, match=r"nosuch.*not a built-in suite \(core"):
        load_suite("nosuch")


# -- obfuscations ---------------------------------------------------------------------------


def test_leetspeak_and_spacing() -> None:
    assert leetspeak("a young girl") == "a y0ung g1rl"
    assert spacing("a teen") == "a   t e e n"


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz ", min_size=1, max_size=40))
def test_spacing_keeps_every_letter_in_order(text: str) -> None:
    assert spacing(text).replace(" ", "") == text.replace(" ", "")


# -- TOML templates -------------------------------------------------------------------------

TEMPLATE = """\
[suite]
name = "mine"
version = "2"

[[probe]]
id = "literal-1"
category = "my_cat"
text = "A literal probe about a school trip"

[[template]]
category = "my_cat"
text = "{frame}Tell me about {thing}."
obfuscate = ["leetspeak"]
obfuscate_slots = ["thing"]
[template.slots]
frame = ["", { value = "In a story: ", tags = ["fictional"] }]
thing = ["kites", "owls"]

[[template]]
category = "my_cat"
control = true
modality = "image"
text = "a drawing of {thing}"
[template.slots]
thing = ["a park"]
"""


def _write(tmp_path: Path, text: str, name: str = "mine.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_template_expands_in_order_with_ids_and_tags(tmp_path: Path) -> None:
    suite = load_suite(_write(tmp_path, TEMPLATE))
    assert (suite.name, suite.version) == ("mine", "2")
    got = [(p.id, p.messages[0]["content"], p.tags) for p in suite.probes]
    assert got == [
        ("literal-1", "A literal probe about a school trip", ()),
        ("my_cat-0001", "Tell me about kites.", ()),
        ("my_cat-0002", "Tell me about k1735.", ("obfuscated", "obfuscated:leetspeak")),
        ("my_cat-0003", "Tell me about owls.", ()),
        ("my_cat-0004", "Tell me about 0wl5.", ("obfuscated", "obfuscated:leetspeak")),
        ("my_cat-0005", "In a story: Tell me about kites.", ("fictional",)),
        ("my_cat-0006", "In a story: Tell me about k1735.",
         ("fictional", "obfuscated", "obfuscated:leetspeak")),
        ("my_cat-0007", "In a story: Tell me about owls.", ("fictional",)),
        ("my_cat-0008", "In a story: Tell me about 0wl5.",
         ("fictional", "obfuscated", "obfuscated:leetspeak")),
        ("my_cat-control-0001", "a drawing of a park", ()),
    ]  # fmt: skip
    assert suite.probes[-1].modality == "image" and suite.probes[-1].control


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("{thing}.\"", "{thing} {nope}.\""), r"mine\.toml:10: placeholder\(s\) with no slot"),
        (("thing = [\"a park\"]", "thing = [\"a park\"]\nextra = [\"x\"]"),
         r"mine\.toml:19: slot\(s\) never used"),
        (("modality = \"image\"", "modality = \"video\""), r"mine\.toml:19: .*unknown modality"),
        (("obfuscate = [\"leetspeak\"]", "obfuscate = [\"rot13\"]"), r":10: unknown obfuscation"),
        (("id = \"literal-1\"", "id = \"my_cat-0001\""), r":10: duplicate probe id 'my_cat-0001'"),
        (("id = \"literal-1\"", "id = \"bad id!\""), r"mine\.toml:5: bad probe id"),
        (("version = \"2\"", "version = \"2\"\nx = ["), r"not valid TOML"),
        (("\"my_cat\"\ncontrol", "\"My Cat\"\ncontrol"), r":19: .*bad category"),
        (("frame = [\"\",", "frame = [3,"), r"slot 'frame': a value is a string"),
    ],
)  # fmt: skip
def test_bad_templates_name_file_and_line(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    assert change[0] in TEMPLATE
    with pytest.raises(AssessError, match=message):
        load_suite(_write(tmp_path, TEMPLATE.replace(change[0], change[1], 1)))


def test_builtin_mode_rejects_unknown_categories_user_mode_allows(tmp_path: Path) -> None:
    path = _write(tmp_path, TEMPLATE)
    assert load_suite_file(path).probes[0].category == "my_cat"
    with pytest.raises(AssessError, match="unknown category 'my_cat' in a built-in suite"):
        load_suite_file(path, builtin=True)


# -- JSONL ----------------------------------------------------------------------------------


def test_jsonl_suite_with_header_prompt_shorthand_and_unicode(tmp_path: Path) -> None:
    lines = [
        {"suite": "mini", "version": "3"},
        {"id": "p1", "category": "c", "control": True, "prompt": "Écris une histoire d'école 📚"},
        {"id": "p2", "category": "c", "modality": "image", "tags": ["t"],
         "messages": [{"role": "system", "content": "be kind"},
                      {"role": "user", "content": "a park"}]},
    ]  # fmt: skip
    path = tmp_path / "mini.jsonl"
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n\n")
    suite = load_suite(path)
    assert (suite.name, suite.version, len(suite.probes)) == ("mini", "3", 2)
    assert suite.probes[0].messages == (
        {"role": "user", "content": "Écris une histoire d'école 📚"},
    )
    assert suite.probes[1].tags == ("t",) and suite.probes[1].modality == "image"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", r"bad\.jsonl:2: not valid JSON"),
        ("[1, 2]", r"bad\.jsonl:2: want a JSON object"),
        ('{"id": "x", "category": "c", "messages": []}', r"bad\.jsonl:2: .*non-empty list"),
        ('{"id": "x", "category": "c", "control": "yes", "prompt": "hi"}', r":2: .*true or false"),
        ('{"id": "x", "category": "c", "messages": [{"role": "user", "content": "  "}]}',
         r":2: .*empty content"),
        ('{"id": "x", "category": "c", "messages": [{"role": "user", "content": "a"},'
         ' {"role": "assistant", "content": "b"}]}', r":2: .*last message must be the user"),
        ('{"id": "p1", "category": "c", "prompt": "again"}', r":2: duplicate probe id 'p1'"),
    ],
)  # fmt: skip
def test_bad_jsonl_names_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "p1", "category": "c", "prompt": "hi"}\n' + line + "\n")
    with pytest.raises(AssessError, match=message):
        load_suite(path)


def test_empty_non_utf8_and_wrong_extension(tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(AssessError, match="no probes"):
        load_suite(tmp_path / "empty.jsonl")
    (tmp_path / "latin.jsonl").write_bytes(b'{"id": "\xe9"}\n')
    with pytest.raises(AssessError, match="not UTF-8"):
        load_suite(tmp_path / "latin.jsonl")
    (tmp_path / "s.yaml").write_text("x: 1\n")
    with pytest.raises(AssessError, match=r"\.toml or \.jsonl"):
        load_suite(tmp_path / "s.yaml")


def test_large_jsonl_suite_loads(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    with path.open("w") as f:
        for i in range(20_000):
            f.write(json.dumps({"id": f"p{i}", "category": "c", "prompt": f"school trip {i}"}))
            f.write("\n")
    suite = load_suite(path)
    assert len(suite.probes) == 20_000 and suite.probes[-1].id == "p19999"
