"""Cold import time of each Cloud Function entry point (TARGETS: < 1 s each).

    PYTHONPATH=. python -m bench.cold_import [--repeat 3]

Each ``functions/*/main.py`` is imported the way functions-framework loads it (from its
file, as module ``main``) in a fresh interpreter, which times the import alone; the
figure is the median of ``repeat`` interpreters. The reference, in the same run, is a
bare interpreter's start-up (``python -c pass``, wall time from outside).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ENTRY_POINTS = tuple(sorted(REPO.glob("functions/*/main.py")))

_IMPORT = """
import importlib.util, sys, time
began = time.perf_counter()
spec = importlib.util.spec_from_file_location("main", sys.argv[1])
module = importlib.util.module_from_spec(spec)
sys.modules["main"] = module
spec.loader.exec_module(module)
print(time.perf_counter() - began)
"""


def import_seconds(entry_point: Path) -> float:
    """Seconds a fresh interpreter takes to import ``entry_point`` (start-up excluded)."""
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT, str(entry_point)],
        capture_output=True,
        text=True,
        check=False,
        cwd=entry_point.parent,
    )
    if done.returncode != 0:
        raise RuntimeError(f"importing {entry_point} failed:\n{done.stderr[-2000:]}")
    return float(done.stdout.strip().splitlines()[-1])


def startup_seconds() -> float:
    """Wall time of a bare interpreter, start to exit."""
    began = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - began


def measure_cold_imports(repeat: int = 3) -> tuple[dict[str, float], float]:
    """Median import seconds per function name, and the median bare start-up."""
    imports = {
        path.parent.name: statistics.median(import_seconds(path) for _ in range(repeat))
        for path in ENTRY_POINTS
    }
    return imports, statistics.median(startup_seconds() for _ in range(repeat))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cold_import")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    imports, startup = measure_cold_imports(args.repeat)
    print(f"bare interpreter start-up: {startup * 1000:,.0f} ms")
    for name, seconds in imports.items():
        print(f"functions/{name}/main.py: {seconds * 1000:,.0f} ms")


if __name__ == "__main__":
    main()
