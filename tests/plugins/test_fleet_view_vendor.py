"""The charting library the Fleet view serves itself: the vendored file is exactly the one its npm lock
pins (plugins/fleet_view/package-lock.json), as recorded by scripts/vendor-js.sh in VENDOR.json."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

VIEW = Path(__file__).resolve().parents[2] / "plugins" / "fleet_view"
VENDOR = VIEW / "static" / "vendor"


def test_vendored_files_match_the_manifest_and_the_lock() -> None:
    manifest = json.loads((VENDOR / "VENDOR.json").read_text())["files"]
    lock = json.loads((VIEW / "package-lock.json").read_text())["packages"]
    pinned = json.loads((VIEW / "package.json").read_text())["dependencies"]
    assert set(manifest) == {"chart.umd.min.js"}
    for name, entry in manifest.items():
        data = (VENDOR / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], f"{name} differs from VENDOR.json"
        locked = lock[f"node_modules/{entry['package']}"]
        assert pinned[entry["package"]] == locked["version"] == entry["version"]  # an exact pin, locked
        assert locked["integrity"] == entry["integrity"] and entry["integrity"].startswith("sha512-")
        assert f"v{entry['version']}" in data[:200].decode()  # the file's own banner names that version
        for item in [entry, *entry.get("bundles", [])]:
            assert (VENDOR / item["license_file"]).read_text().startswith("The MIT License")
            assert lock[f"node_modules/{item['package']}"]["license"] == item["license"] == "MIT"


def test_the_page_loads_only_files_it_serves() -> None:
    page = (VIEW / "page.html").read_text()
    assert "http://" not in page and "https://" not in page  # works with no internet access
    for src in ("static/vendor/chart.umd.min.js", "static/app.js", "static/app.css"):
        assert f"{{{{ROOT}}}}/{src}" in page and (VIEW / src).exists()
