#!/usr/bin/env bash
# The review console's browser tests drive Debian's headless Chromium through Playwright
# (Playwright never downloads a browser here). Install it when missing and we may.
set -euo pipefail
command -v chromium >/dev/null && exit 0
if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "installing chromium (for the review console's browser tests)"
  (apt-get install -y -qq chromium >/dev/null 2>&1 || \
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null))
else
  echo "chromium is missing and cannot be installed here: console browser tests will skip" >&2
fi
