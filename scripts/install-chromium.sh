#!/usr/bin/env bash
# Install Debian's Chromium and ChromeDriver for the Fleet view's browser tests (tests/fixtures/browser.py
# runs this when /usr/bin/chromium is missing; `make browser` runs it by hand). Needs root, as on CI;
# the package lists are refreshed first when they are empty or the install fails.
set -euo pipefail
packages=(chromium chromium-driver)
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  echo "chromium: already installed ($(/usr/bin/chromium --version 2>/dev/null || echo unknown version))"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "error: installing ${packages[*]} needs root (sudo $0, or apt-get install -y ${packages[*]})" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e lock -e partial || true)" ]; then
  apt-get update -qq
fi
apt-get install -y -qq --no-install-recommends "${packages[@]}" || { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${packages[@]}"; }
echo "chromium: $(/usr/bin/chromium --version)"
