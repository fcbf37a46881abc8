#!/usr/bin/env bash
# Browser tests drive Debian's Chromium (Playwright's own browser download is not used) and need a CJK font
# so Korean pages render in screenshots. Installs both on Debian as root when missing.
set -euo pipefail
missing=()
command -v chromium >/dev/null || missing+=(chromium)
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || missing+=(fonts-noto-cjk)
[ ${#missing[@]} -eq 0 ] && exit 0
. "$(dirname "$0")/lib.sh"
install_or_explain "the browser tests' browser and fonts" "${missing[@]}"
