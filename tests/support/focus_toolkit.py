"""An external FOCUS judge: focus-data-toolkit's lint and validate over an org's FOCUS rows.

Each source system's rows are exported the way a team shares them with FinOps tools
(``shared.handlers.focus_export``, CSV), converted by ``focus-toolkit convert`` (FOCUS 1.3 -> 1.4
behind its mandatory lint) and the 1.4 output checked again by ``focus-toolkit validate``.
The toolkit is a pinned dev dependency (no dependencies of its own), run as the command a
user would run, from this venv.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from shared.bootstrap.embedded import EmbeddedRuntime
from shared.domain.focus import COST_TABLE
from shared.domain.sql import table_ref
from shared.handlers.focus_export import export_focus

TOOLKIT = Path(sys.executable).with_name("focus-toolkit")


def toolkit_verdicts(runtime: EmbeddedRuntime, slug: str, workdir: Path) -> dict[str, str]:
    """source system -> "" when the toolkit accepts its rows, else what it reported."""
    dataset = runtime.settings.org_dataset(slug)
    target = table_ref(runtime.warehouse.project_id, dataset, COST_TABLE)
    sources = [
        r["source"]
        for r in runtime.warehouse.query(
            f"SELECT DISTINCT x_source_system AS source FROM {target}"
            " WHERE x_org_slug = @org ORDER BY source",
            {"org": slug},
        )
    ]
    assert sources, f"{slug} has no FOCUS rows to judge"
    verdicts: dict[str, str] = {}
    for source in sources:
        csv_path = workdir / f"{slug}_{source}.csv"
        with csv_path.open("wb") as out:
            written = export_focus(
                runtime.warehouse, dataset, slug, out, "csv", source_system=source
            )
        assert written > 0
        verdicts[source] = judge_file(csv_path, workdir / f"{slug}_{source}_1_4")
    return verdicts


def assert_toolkit_accepts(runtime: EmbeddedRuntime, slug: str, workdir: Path) -> None:
    verdicts = toolkit_verdicts(runtime, slug, workdir)
    assert not any(verdicts.values()), {s: v for s, v in verdicts.items() if v}


def judge_file(path: Path, out_dir: Path) -> str:
    """ "" when the toolkit converts the file (lint OK) and validates its 1.4 output."""
    # --exit-policy pipeline: 0 for a finished conversion (the datasets a Cost and Usage
    # file cannot feed are "not produced", exit 3 under the default policy), non-zero when
    # the lint fails.
    convert = _toolkit(
        "convert", "--cost-and-usage", str(path), "--out", str(out_dir),
        "--exit-policy", "pipeline", "--on-exists", "replace",
    )  # fmt: skip
    if convert.returncode != 0 or "lint [Cost and Usage]: lint OK" not in convert.stdout:
        return f"convert rc={convert.returncode}: {convert.stdout}{convert.stderr}"
    validate = _toolkit("validate", str(out_dir / "focus_1_4_cost_and_usage.csv"))
    if validate.returncode != 0 or "lint OK" not in validate.stdout:
        return f"validate rc={validate.returncode}: {validate.stdout}{validate.stderr}"
    return ""


def values_the_toolkit_filled(out_dir: Path) -> dict[str, int]:
    """Column -> rows whose 1.4 value the toolkit derived or backfilled rather than read
    from ours (its manifest's lineage): what our 1.3 rows leave for a 1.4 reader to guess."""
    manifest = json.loads((out_dir / "focus_1_4_manifest.json").read_text(encoding="utf-8"))
    lineage = manifest["datasets"]["Cost and Usage"]["lineage_summary"]
    return {
        column: sum(n for kind, n in counts.items() if kind != "OBSERVED")
        for column, counts in lineage.items()
        if set(counts) - {"OBSERVED"}
    }


def _toolkit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TOOLKIT), *args], capture_output=True, text=True, timeout=300, check=False
    )
