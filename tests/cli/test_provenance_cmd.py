"""`childsafe provenance`: make-cert, mark and verify, their JSON and their exit codes."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image
from skimage import data

from childsafe.cli.exit_codes import ExitCode
from childsafe.cli.provenance_cmd import provenance
from childsafe.config import Settings


@dataclass
class Out:
    code: int
    out: str
    err: str

    def jsonl(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]


Run = Callable[..., Out]


@pytest.fixture
def prun(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """The group run in-process with fresh settings (the root command's job in `childsafe`)."""
    monkeypatch.setenv("CHILDSAFE_HOME", str(tmp_path / "home"))
    for var in ("CHILDSAFE_PROVENANCE_CERT", "CHILDSAFE_PROVENANCE_KEY"):
        monkeypatch.delenv(var, raising=False)

    def _run(*args: str) -> Out:
        res = CliRunner().invoke(provenance, list(args), obj=Settings(), catch_exceptions=False)
        return Out(res.exit_code, res.stdout, res.stderr)

    return _run


@pytest.fixture
def photo_png(tmp_path: Path) -> Path:
    path = tmp_path / "generated.png"
    Image.fromarray(data.coffee()).resize((300, 256)).save(path)
    return path


@pytest.fixture
def certs(prun: Run, tmp_path: Path) -> Path:
    res = prun("make-cert", str(tmp_path / "certs"))
    assert res.code == 0, res.err
    return tmp_path / "certs"


def test_make_cert_writes_a_chain_and_refuses_to_overwrite(prun: Run, certs: Path) -> None:
    assert {p.name for p in certs.iterdir()} == {"chain.pem", "key.pem", "ca.pem"}
    again = prun("make-cert", str(certs))
    assert again.code == ExitCode.FAILURE and "already exists" in again.err
    assert prun("make-cert", str(certs), "--force", "--alg", "ed25519").code == 0


def test_mark_then_verify_json(prun: Run, certs: Path, photo_png: Path, tmp_path: Path) -> None:
    out = tmp_path / "marked.jpg"
    res = prun(
        "mark", str(photo_png), "--out", str(out), "--model", "tiny-diffusion",
        "--model-version", "3", "--cert", str(certs / "chain.pem"),
        "--key", str(certs / "key.pem"), "--json",
    )  # fmt: skip
    assert res.code == 0, res.err
    (made,) = res.jsonl()
    assert made["mime"] == "image/jpeg" and str(made["manifest_label"]).startswith("urn:c2pa:")
    check = prun("verify", str(out), "--json", "--trust", str(certs / "ca.pem"))
    assert check.code == ExitCode.FOUND
    (rec,) = check.jsonl()
    assert rec["watermark_found"] is True and rec["watermark_id"] == made["watermark_id"]
    assert rec["c2pa_valid"] is True and rec["c2pa_trusted"] is True
    assert rec["ai_generated"] is True
    assert (rec["model"], rec["model_version"]) == ("tiny-diffusion", "3")
    human = prun("verify", str(out))
    assert human.code == ExitCode.FOUND and "AI-generated" in human.out


def test_settings_sign_and_no_credentials_watermark_only(
    prun: Run, certs: Path, photo_png: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = prun("mark", str(photo_png), "--out", str(tmp_path / "wm.png"), "--json")
    assert bare.code == 0 and bare.jsonl()[0]["manifest_label"] is None
    (rec,) = prun("verify", str(tmp_path / "wm.png"), "--json").jsonl()
    assert rec["watermark_found"] is True and rec["c2pa_present"] is False
    monkeypatch.setenv("CHILDSAFE_PROVENANCE_CERT", str(certs / "chain.pem"))
    monkeypatch.setenv("CHILDSAFE_PROVENANCE_KEY", str(certs / "key.pem"))
    signed = prun("mark", str(photo_png), "--out", str(tmp_path / "s.png"), "--no-watermark")
    assert signed.code == 0, signed.err
    (rec,) = prun("verify", str(tmp_path / "s.png"), "--json").jsonl()
    assert rec["c2pa_valid"] is True and rec["watermark_found"] is False


def test_verify_exit_codes(prun: Run, photo_png: Path, tmp_path: Path) -> None:
    assert prun("verify", str(photo_png)).code == ExitCode.OK  # unmarked
    junk = tmp_path / "notes.png"
    junk.write_text("not an image at all")
    bad = prun("verify", str(photo_png), str(junk), str(tmp_path / "missing.png"), "--json")
    assert bad.code == ExitCode.ITEM_ERRORS
    rows = {Path(str(r["source"])).name: r for r in bad.jsonl()}
    assert set(rows) == {"generated.png", "notes.png", "missing.png"}  # nothing dropped
    assert "notes.png" in str(rows["notes.png"]["errors"])
    assert "missing.png" in str(rows["missing.png"]["errors"])
    marked = tmp_path / "m.png"
    assert prun("mark", str(photo_png), "--out", str(marked)).code == 0
    both = prun("verify", str(marked), str(junk))
    assert both.code == ExitCode.FOUND  # a finding wins over per-file errors
    assert "could not be checked" in both.err


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--out", "{tmp}/x.gif"], ExitCode.USAGE, "png, .jpg or .jpeg"),
        (["--out", "{tmp}/x.png", "--no-watermark"], ExitCode.USAGE, "nothing to add"),
        (["--out", "{tmp}/x.png", "--cert", "{tmp}/c.pem"], ExitCode.USAGE, "together"),
        (["--out", "{tmp}/x.png", "--cert", "{certs}/ca.pem", "--key", "{certs}/key.pem"],
         ExitCode.FAILURE, "does not match"),
        (["--out", "{tmp}/nodir/x.png"], ExitCode.FAILURE, "cannot write"),
    ],
    ids=["format", "nothing", "half-credentials", "wrong-key", "unwritable"],
)  # fmt: skip
def test_mark_usage_and_failures(
    prun: Run, certs: Path, photo_png: Path, tmp_path: Path, args: list[str], code: int,
    message: str,
) -> None:  # fmt: skip
    filled = [a.format(tmp=tmp_path, certs=certs) for a in args]
    res = prun("mark", str(photo_png), *filled)
    assert res.code == code
    assert message in res.err + res.out


def test_mark_unusable_images_exit_3(prun: Run, tmp_path: Path) -> None:
    small = tmp_path / "small.png"
    Image.new("RGB", (100, 80), (10, 20, 30)).save(small)
    res = prun("mark", str(small), "--out", str(tmp_path / "o.png"))
    assert res.code == ExitCode.ITEM_ERRORS
    assert "small.png" in res.err and "too small" in res.err
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(30))
    res = prun("mark", str(broken), "--out", str(tmp_path / "o.png"))
    assert res.code == ExitCode.ITEM_ERRORS and "broken.png" in res.err
    assert not (tmp_path / "o.png").exists()
