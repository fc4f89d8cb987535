"""`make package`: self-contained, reproducible zips, one per function source."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from shared.devtools.package import REPO, build, requirements


def test_a_function_zip_is_self_contained_and_reproducible(tmp_path: Path) -> None:
    first = build(REPO / "functions" / "step_runner", tmp_path / "a")
    second = build(REPO / "functions" / "step_runner", tmp_path / "b")
    assert first.read_bytes() == second.read_bytes()  # same code, same bytes

    names = zipfile.ZipFile(first).namelist()
    assert "main.py" in names
    assert "shared/handlers/run_step.py" in names
    assert any(n.startswith("configs/subscription/") for n in names)
    assert any(n.startswith("procedures/") for n in names)
    assert not any("__pycache__" in n or n.startswith("tests/") for n in names)
    # no demo, sample data or developer tools in a deployed function
    assert not any(n.startswith(("shared/demo/", "shared/devtools/")) for n in names)
    assert "shared/entrypoints/http/openapi.json" in names

    # Unzipped alone (no repo on the path), the entry point imports and registers.
    root = tmp_path / "unzipped"
    zipfile.ZipFile(first).extractall(root)
    check = "import main; assert callable(main.step_runner); import shared; print(shared.__file__)"
    result = subprocess.run(
        [sys.executable, "-c", check],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith(str(root))


def test_requirements_are_pinned_and_leave_out_the_embedded_warehouse() -> None:
    lines = requirements().split()
    assert all("==" in line for line in lines)
    names = {line.split("==")[0] for line in lines}
    assert {"functions-framework", "google-cloud-firestore", "google-cloud-kms"} <= names
    assert not names & {"bqemulator", "duckdb"}
