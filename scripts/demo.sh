#!/usr/bin/env bash
# The main job on bundled benign samples: import a demo bank, hash the samples, match them.
# It uses a throw-away CHILDSAFE_HOME (embedded SQLite) unless you set one.
set -euo pipefail
cd "$(dirname "$0")/.."
export CHILDSAFE_HOME="${CHILDSAFE_HOME:-$(mktemp -d -t childsafe-demo.XXXXXX)}"
echo "== state in $CHILDSAFE_HOME (SQLite)"

echo "== childsafe banks import demo samples/demo-bank.csv"
childsafe banks import demo samples/demo-bank.csv
childsafe banks list

echo "== childsafe hash samples/images --json"
childsafe hash samples/images --json || true   # exit 3: broken.jpg is broken on purpose

echo "== childsafe match samples/images --bank demo"
set +e
childsafe match samples/images --bank demo
rc=$?
set -e
echo "== exit code $rc (1 = matches found, as expected: an exact copy, a mirrored copy, a letterboxed copy)"
[ "$rc" -eq 1 ]
