"""The alibaba_cloud connection type is registered with Airflow (operators/provider_info.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

PROBE = """
import json
from airflow.providers_manager import ProvidersManager
pm = ProvidersManager()
hook = pm.hooks.get("alibaba_cloud")
print(json.dumps({
    "provider": "yunfleet" in pm.providers,
    "hook": hook.hook_class_name if hook else None,
    "name": hook.hook_name if hook else None,
    "testable": hook.connection_testable if hook else None,
    "behaviour": pm.field_behaviours.get("alibaba_cloud"),
    "widgets": sorted(k for k in pm.connection_form_widgets if k.startswith("extra__alibaba_cloud__")),
}))
"""


def test_connection_type_is_registered(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env["AIRFLOW_HOME"] = str(tmp_path)
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", PROBE],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    info = json.loads(out.strip().splitlines()[-1])
    assert info["provider"] and info["hook"] == "operators.hooks.base_alibaba.AlibabaCloudBaseHook"
    assert info["name"] == "Alibaba Cloud" and info["testable"]
    assert info["behaviour"]["relabeling"] == {"login": "AccessKey ID", "password": "AccessKey Secret"}
    assert "host" in info["behaviour"]["hidden_fields"]
    assert {"extra__alibaba_cloud__region_id", "extra__alibaba_cloud__endpoints"} <= set(info["widgets"])
