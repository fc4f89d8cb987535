"""``make package``: one deployable zip per function source directory.

Each zip holds what Cloud Functions (2nd gen, python311) builds from: ``main.py`` at
the root, the ``shared`` package, ``configs/`` and ``procedures/``, and a
``requirements.txt`` with the project's pinned dependencies minus the embedded-only
ones. Entries have fixed timestamps and order, so the same code gives the same bytes
(terraform names the uploaded object by its hash: unchanged code is not redeployed).
"""

from __future__ import annotations

import argparse
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

from shared import REPO_ROOT

REPO = REPO_ROOT
# Only the embedded runtime (a laptop, the tests) runs BigQuery in-process.
EMBEDDED_ONLY = frozenset({"bqemulator", "duckdb", "duckdb-extension-spatial", "numpy"})
_EPOCH = (2020, 1, 1, 0, 0, 0)
_SKIP_DIRS = frozenset({"__pycache__", ".mypy_cache", ".pytest_cache"})
# Never deployed: the demo and its sample data, and these developer tools.
UNPACKAGED = ("shared/demo", "shared/devtools")


def requirements() -> str:
    with (REPO / "pyproject.toml").open("rb") as handle:
        deps: list[str] = tomllib.load(handle)["project"]["dependencies"]
    keep = [d for d in deps if d.split("==")[0].split("[")[0].strip() not in EMBEDDED_ONLY]
    return "\n".join(keep) + "\n"


def _files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(REPO)
        if (
            path.is_file()
            and not _SKIP_DIRS.intersection(relative.parts)
            and path.suffix != ".pyc"
            and not any(relative.is_relative_to(folder) for folder in UNPACKAGED)
        ):
            yield path


def _add(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def build(source_dir: Path, out_dir: Path) -> Path:
    """Zip functions/<source_dir.name>/ with everything it imports and reads."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{source_dir.name}.zip"
    with zipfile.ZipFile(target, "w") as archive:
        for path in _files(source_dir):
            _add(archive, str(path.relative_to(source_dir)), path.read_bytes())
        for tree in ("shared", "configs", "procedures"):
            for path in _files(REPO / tree):
                _add(archive, str(path.relative_to(REPO)), path.read_bytes())
        _add(archive, "requirements.txt", requirements().encode())
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.devtools.package")
    parser.add_argument("--out", type=Path, default=REPO / "dist" / "functions")
    args = parser.parse_args(argv)
    for source_dir in sorted(
        p for p in (REPO / "functions").iterdir() if (p / "main.py").is_file()
    ):
        zip_path = build(source_dir, args.out)
        print(f"{zip_path} ({zip_path.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
