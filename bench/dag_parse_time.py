"""Benchmark: import time of every DAG file, in a fresh interpreter, on top of ``import airflow.sdk``.

Writes bench/results/dag_parse_time.json and .md. ``cold`` is what the integrity test limits (0.5 s):
the file plus the SDK definitions it pulls in lazily; ``warm`` has DAG/dag/task/Param/BaseOperator
resolved first, so it is the file's own top-level cost.
"""

from __future__ import annotations

import json
import platform
import sys
import time

from yunfleet.devenv.config import REPO_ROOT
from yunfleet.devenv.parsetime import measure_dag_import

REPEATS = 5
LIMIT_S = 0.5
RESULTS = REPO_ROOT / "bench" / "results"


def main() -> int:
    files = sorted(p for p in (REPO_ROOT / "dags").glob("*.py") if p.name != "__init__.py")
    rows = []
    for path in files:
        try:
            cold = measure_dag_import(path, repeats=REPEATS)
            warm = measure_dag_import(path, repeats=REPEATS, warm=True)
        except RuntimeError as exc:
            rows.append({"file": path.name, "error": str(exc).splitlines()[-1]})
            print(f"{path.name:32} import failed: {rows[-1]['error']}")
            continue
        row = {
            "file": path.name,
            "cold_best_s": round(cold.best, 4),
            "cold_median_s": round(cold.median, 4),
            "warm_best_s": round(warm.best, 4),
            "warm_median_s": round(warm.median, 4),
            "airflow_sdk_import_s": round(cold.sdk_import_s, 3),
            "within_limit": cold.best < LIMIT_S,
        }
        rows.append(row)
        print(
            f"{path.name:32} cold {cold.best:.3f}/{cold.median:.3f} s"
            f"  warm {warm.best:.3f}/{warm.median:.3f} s  (best/median)"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    meta = {
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "repeats": REPEATS,
        "limit_s": LIMIT_S,
    }
    (RESULTS / "dag_parse_time.json").write_text(json.dumps({**meta, "files": rows}, indent=2) + "\n")
    lines = [
        "# DAG import time on top of `import airflow.sdk`",
        "",
        f"{meta['measured_at']}, Python {meta['python']}, best/median of {REPEATS} fresh interpreters;"
        f" limit {LIMIT_S} s (cold best).",
        "",
        "| file | cold best | cold median | warm best | warm median |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        if "error" in row:
            lines.append(f"| {row['file']} | import failed | | | |")
        else:
            lines.append(
                f"| {row['file']} | {row['cold_best_s']:.3f} | {row['cold_median_s']:.3f} |"
                f" {row['warm_best_s']:.3f} | {row['warm_median_s']:.3f} |"
            )
    (RESULTS / "dag_parse_time.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {RESULTS / 'dag_parse_time.json'}")
    over = [r["file"] for r in rows if "error" in r or not r["within_limit"]]
    if over:
        print(f"over the {LIMIT_S} s limit or failing to import: {', '.join(over)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
