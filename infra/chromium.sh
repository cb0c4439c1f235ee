#!/usr/bin/env bash
# Install Debian's headless-capable Chromium for the report's browser test (tests/integration/
# test_report_browser.py). Idempotent: does nothing when /usr/bin/chromium already exists.
# Runs apt as root directly, or through sudo when available; refreshes the package index once.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
else
    echo "chromium.sh: /usr/bin/chromium is missing and this user cannot run apt-get (no root, no sudo)." >&2
    echo "chromium.sh: ask an administrator to run: apt-get install -y chromium" >&2
    exit 1
fi

"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium

if [ ! -x /usr/bin/chromium ]; then
    echo "chromium.sh: apt-get finished but /usr/bin/chromium is still missing" >&2
    exit 1
fi
/usr/bin/chromium --version
