#!/usr/bin/env bash
# Refresh the browser libraries the Fleet view serves itself (plugins/fleet_view/static/vendor/) from
# the npm lock file plugins/fleet_view/package-lock.json, and record each file's sha256 in VENDOR.json.
#
#   make vendor-js                     # after changing the pin in plugins/fleet_view/package.json:
#   (cd plugins/fleet_view && npm install --package-lock-only --ignore-scripts chart.js@X.Y.Z)
#
# `npm ci` installs exactly the lock's versions and checks every tarball against the lock's integrity
# (sha512); tests/plugins/test_fleet_view_vendor.py checks the copied files against VENDOR.json and
# VENDOR.json against the lock. Needs Node.js/npm and the npm registry; nothing at run time does.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
src="$root/plugins/fleet_view"
dest="$src/static/vendor"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$src/package.json" "$src/package-lock.json" "$work/"
(cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
mkdir -p "$dest"
cp "$work/node_modules/chart.js/dist/chart.umd.min.js" "$dest/chart.umd.min.js"
cp "$work/node_modules/chart.js/LICENSE.md" "$dest/chart.js.LICENSE.md"
cp "$work/node_modules/@kurkle/color/LICENSE.md" "$dest/kurkle-color.LICENSE.md"
python3 - "$work" "$dest" <<'PY'
import hashlib, json, sys
from pathlib import Path

work, dest = Path(sys.argv[1]), Path(sys.argv[2])
lock = json.loads((work / "package-lock.json").read_text())["packages"]
chart = lock["node_modules/chart.js"]
color = lock["node_modules/@kurkle/color"]
manifest = {
    "comment": "Written by scripts/vendor-js.sh from package-lock.json; checked by tests/plugins/test_fleet_view_vendor.py",
    "files": {
        "chart.umd.min.js": {
            "package": "chart.js",
            "version": chart["version"],
            "from": "dist/chart.umd.min.js",
            "license": chart["license"],
            "license_file": "chart.js.LICENSE.md",
            "bundles": [{"package": "@kurkle/color", "version": color["version"], "license": color["license"],
                         "license_file": "kurkle-color.LICENSE.md"}],
            "integrity": chart["integrity"],
            "sha256": hashlib.sha256((dest / "chart.umd.min.js").read_bytes()).hexdigest(),
        }
    },
}
(dest / "VENDOR.json").write_text(json.dumps(manifest, indent=2) + "\n")
print(f"vendored chart.js {chart['version']} into {dest}")
PY
