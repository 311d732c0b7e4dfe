#!/usr/bin/env bash
# The main job on bundled benign samples: build a demo bank, then scan the sample dataset
# (2 WebDataset shards with planted copies of the bank's images + a LAION-style hashes-only
# table) and print the summary and the report's path. Also shows `hash` and `match`.
# It uses a throw-away CHILDSAFE_HOME (embedded SQLite) unless you set one.
set -euo pipefail
cd "$(dirname "$0")/.."
export CHILDSAFE_HOME="${CHILDSAFE_HOME:-$(mktemp -d -t childsafe-demo.XXXXXX)}"
OUT="${OUT:-out/demo-scan}"
rm -rf "$OUT"
echo "== state in $CHILDSAFE_HOME (SQLite, local executor)"

echo "== childsafe banks import demo samples/demo-bank.csv"
childsafe banks import demo samples/demo-bank.csv

echo "== childsafe scan samples/dataset --out $OUT --bank demo"
set +e
childsafe scan samples/dataset --out "$OUT" --bank demo
rc=$?
set -e
echo "== exit code $rc (1 = something was quarantined: the planted copies of bank images)"
[ "$rc" -eq 1 ]
echo "== quarantined items (ids, hashes and reasons only; never content):"
python - "$OUT" <<'PY'
import sys
import pyarrow.parquet as pq
for row in pq.read_table(f"{sys.argv[1]}/quarantine.parquet").to_pylist():
    print(f"  {row['item_id']:<48} {', '.join(row['reasons'])}")
PY

echo "== childsafe match samples/images --bank demo (single files: copies, a mirror, a letterbox)"
set +e
childsafe match samples/images --bank demo
rc=$?
set -e
[ "$rc" -eq 1 ]
echo "== done: open $OUT/report.html"
