"""``childsafe scan`` end to end: exit codes, one row per input, and resume after kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
from tests.cli.conftest import Run
from tests.scan.scanfix import image_bytes, make_folder, make_tar

from childsafe.content.base import Item
from childsafe.hashing.api import hash_file

PLANTED = (3, 21)


def demo_bank(tmp_path: Path, run: Run) -> None:
    lines = ["hash_type,value,label"]
    for s in PLANTED:
        fh = hash_file(Item.from_bytes(image_bytes(s), id=str(s)), ["md5", "pdq"])
        lines += [f"md5,{fh.get('md5')},demo-benign", f"pdq,{fh.get('pdq')},demo-benign"]
    (tmp_path / "bank.csv").write_text("\n".join(lines) + "\n")
    assert run("banks", "import", "demo", str(tmp_path / "bank.csv")).code == 0


def test_scan_folder_and_tar(tmp_path: Path, run: Run) -> None:
    demo_bank(tmp_path, run)
    make_folder(tmp_path / "photos", [1, 2, 3, 4], broken=True)
    n_tar = make_tar(tmp_path / "shard-000.tar", [20, 21, 22])
    out = tmp_path / "out"
    res = run(
        "scan",
        str(tmp_path / "photos"),
        str(tmp_path / "shard-000.tar"),
        "--out",
        str(out),
        "--workers",
        "1",
        "--json",
    )
    assert res.code == 1, res.err
    summary = json.loads(res.out)
    assert summary["items"]["block"] == 2 and summary["items"]["error"] == 1
    table = pq.read_table(out / "results.parquet")
    assert table.num_rows == 5 + n_tar
    assert {"item_id", "source", "decision", "error"} <= set(table.column_names)
    again = run("scan", str(tmp_path / "photos"), "--out", str(out))
    assert again.code == 4 and "--resume" in again.err
    make_folder(tmp_path / "fine", [1, 2])
    clean = run("scan", str(tmp_path / "fine"), "--out", str(tmp_path / "o2"))
    assert clean.code == 0 and "report.html" in clean.out
    missing = run("scan", str(tmp_path / "nope"), "--out", str(tmp_path / "o3"))
    assert missing.code == 4 and "nope" in missing.err


def _scan(home: Path, data: Path, out: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CHILDSAFE_HOME": str(home)}
    env.pop("CHILDSAFE_DATABASE_URL", None)
    cmd = [
        sys.executable,
        "-m",
        "childsafe.cli.main",
        "scan",
        str(data),
        "--out",
        str(out),
        "--shard-size",
        "20",
        "--workers",
        "1",
        *extra,
    ]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_kill_9_then_resume_has_no_gaps_or_duplicates(tmp_path: Path, run: Run) -> None:
    demo_bank(tmp_path, run)
    data = tmp_path / "data"
    make_folder(data, range(600))
    home, out = tmp_path / "home", tmp_path / "killed"
    proc = _scan(home, data, out)
    deadline = time.monotonic() + 60
    while len(list((out / "parts").glob("*.parquet"))) < 3 and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1]
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "results.parquet").exists()
    resumed = _scan(home, data, out, "--resume")
    err = resumed.communicate(timeout=120)[1]
    assert resumed.returncode == 1, err
    ids = pq.read_table(out / "results.parquet", columns=["item_id"])["item_id"].to_pylist()
    assert len(ids) == len(set(ids)) == 600
    clean = _scan(home, data, tmp_path / "clean")
    clean.communicate(timeout=120)
    assert clean.returncode == 1
    assert pq.read_table(out / "results.parquet").equals(
        pq.read_table(tmp_path / "clean" / "results.parquet")
    )
