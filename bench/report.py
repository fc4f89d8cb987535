"""`make bench`: every benchmark of shared/TARGETS.md in one run, printed as one table.

    PYTHONPATH=. python -m bench [--quick] [--only SECTION ...] [--skip-emulators]

Each row: what was measured, its figure, the reference measured in the same run, their
ratio, the target and whether it is met. Sections (each module also runs alone):

* ``orchestration``: ms per no-op step, embedded and on the emulator topology
  (bench/orchestration.py; reference of the topology: the embedded figure);
* ``focus``: GCP detailed export -> FOCUS 1.3 rows/s against a plain copy, the FinOps
  Foundation's focus-converter in its fastest mode and (informational) one DuckDB SELECT,
  and the convert step's peak RSS (bench/focus_conversion.py);
* ``clouds``: AWS CUR, Azure cost details and OCI cost reports -> FOCUS 1.3, each convert
  step's rows/s against a plain copy of its raw table, and its peak RSS
  (bench/cloud_conversions.py);
* ``slices``: the SaaS subscription procedures' slice replace (DELETE + INSERT in the step's
  transaction), each step's rerun rows/s against a plain copy of the rows it wrote, and the
  MERGE ... ON FALSE it replaced where it is run (bench/slice_replace.py);
* ``memory``: peak RSS extracting provider usage rows (bench/genai_memory.py) and loading a
  CUR file (bench/cur_load_memory.py), warehouse out of process; reference: the same child
  doing nothing;
* ``imports``: cold import of each functions/*/main.py (bench/cold_import.py); reference:
  a bare interpreter's start-up;
* ``quota``: reservations/s on the embedded state store, sequential and under 100
  concurrent requesters, and the admitted count against the limit (bench/quota.py).

A section that fails or is unavailable still gets its rows, saying so. ``--quick`` uses
100k rows instead of 1M for the FOCUS, clouds, slices and memory sections; the FOCUS section
otherwise runs at 100k, 1M and 5M rows (targets judged at 1M, the RSS one at 5M).
"""

from __future__ import annotations

import argparse
import functools
import importlib
import math
import operator
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, cast

from shared.entrypoints.cli.console import print_table

SECTIONS = ("orchestration", "focus", "clouds", "slices", "memory", "imports", "quota")
FULL_ROWS = 1_000_000
QUICK_ROWS = 100_000
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
}


@dataclass(frozen=True, slots=True)
class Target:
    """A bound on the row's figure or on figure/reference (``on="ratio"``)."""

    op: Literal["<", "<=", ">=", "=="]
    value: float
    on: Literal["figure", "ratio"] = "figure"
    text: str = ""  # how to show it; default: op, value and the row's unit

    def met(self, figure: float, ratio: float | None) -> bool | None:
        """None when the quantity it bounds was not measured."""
        subject = figure if self.on == "figure" else ratio
        if subject is None or math.isnan(subject):
            return None
        return _OPS[self.op](subject, self.value)


@dataclass(frozen=True, slots=True)
class Row:
    what: str
    figure: float | None  # None: not measured (``note`` says why)
    unit: str
    reference: float | None = None  # in the figure's unit
    reference_what: str = ""
    target: Target | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.figure is None or self.reference is None or self.reference == 0:
            return None
        if math.isnan(self.figure) or math.isnan(self.reference):
            return None
        return self.figure / self.reference

    @property
    def met(self) -> str:
        """yes / NO; "-" without a target; "n/a" when what it bounds was not measured."""
        if self.target is None:
            return "-"
        if self.figure is None or math.isnan(self.figure):
            return "n/a"
        verdict = self.target.met(self.figure, self.ratio)
        return "n/a" if verdict is None else ("yes" if verdict else "NO")


def number(value: float) -> str:
    """Three significant figures or so, thousands separated."""
    if math.isnan(value):
        return "nan"
    size = abs(value)
    if size >= 100:
        return f"{value:,.0f}"
    if size >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def cells(row: Row) -> dict[str, str]:
    figure = "not measured" if row.figure is None else f"{number(row.figure)} {row.unit}"
    reference = ""
    if row.reference is not None:
        reference = f"{row.reference_what} {number(row.reference)} {row.unit}".strip()
    elif row.reference_what:
        reference = row.reference_what
    ratio = row.ratio
    target = ""
    if row.target is not None:
        t = row.target
        target = t.text or (
            f"{t.op} {number(t.value)} {row.unit}"
            if t.on == "figure"
            else f"ratio {t.op} {t.value}"
        )
    return {
        "what": row.what,
        "figure": figure,
        "reference (same run)": reference,
        "ratio": "" if ratio is None else f"{ratio:.2f}x",
        "target": target,
        "met?": row.met,
    }


COLUMNS = ("what", "figure", "reference (same run)", "ratio", "target", "met?")


def render(rows: Sequence[Row]) -> None:
    """The table, then each row's note as a numbered footnote."""
    table = []
    notes: list[str] = []
    for row in rows:
        line = cells(row)
        if row.note:
            notes.append(row.note)
            line["what"] += f" [{len(notes)}]"
        table.append(line)
    print_table(table, COLUMNS)
    for n, note in enumerate(notes, 1):
        print(f"[{n}] {note}")


# -- sections ----------------------------------------------------------------------------
EMBEDDED_MS = Target("<=", 5)
TOPOLOGY_MS = Target("<=", 60)
RSS_MB = Target("<", 500)
IMPORT_MS = Target("<", 1000)
RESERVATIONS = Target(">=", 200)


def orchestration_rows(*, emulators: bool) -> list[Row]:
    from bench.orchestration import measure_orchestration

    results = measure_orchestration(200, 200, emulators=emulators)
    embedded = {r.shape: r.ms_per_step for r in results if r.runtime == "embedded"}
    names = {"chain": "chain of 200", "fanout": "fan-out of 200"}
    rows = [
        Row(
            f"orchestration embedded, {names[r.shape]}",
            r.ms_per_step,
            "ms/step",
            None,
            "",
            EMBEDDED_MS,
        )
        if r.runtime == "embedded"
        else Row(
            f"orchestration emulators, {names[r.shape]}",
            r.ms_per_step,
            "ms/step",
            embedded[r.shape],
            "embedded",
            TOPOLOGY_MS,
        )
        for r in results
    ]
    if not emulators:
        rows += _missing(["orchestration emulators"], [TOPOLOGY_MS], "skipped (--skip-emulators)")
    return rows


FocusMeasure = Callable[[int], dict[str, float]]
# the targets (bench/focus_conversion.py prints the same): rows/s ratios at 1M rows
CONVERT_VS_COPY = Target(">=", 1 / 1.8, "ratio", "within 1.8x of copy")
EXTRACT_VS_COPY = Target(">=", 1 / 1.5, "ratio", "within 1.5x of copy")
CONVERT_VS_FOCUS_CONVERTER = Target(">=", 1.5, "ratio", "ratio >= 1.5")
CONVERT_RSS_MB = Target("<", 1024, text="< 1,024 MB at 5M rows")
CONVERT_RSS_ROWS = 5_000_000


def focus_rows(rows: int, *, judged: bool = True) -> list[Row]:
    """The FOCUS rows at ``rows`` rows; the ratio targets shown only where ``judged``."""
    what = [
        f"FOCUS convert {rows:,} rows vs plain copy",
        f"FOCUS extract {rows:,} rows vs plain copy",
        f"FOCUS convert {rows:,} rows vs focus-converter",
        f"FOCUS convert {rows:,} rows vs DuckDB SELECT",
        f"FOCUS convert {rows:,} rows, step peak RSS",
    ]
    rss_target = CONVERT_RSS_MB if rows >= CONVERT_RSS_ROWS else None
    ratio_targets = [CONVERT_VS_COPY, EXTRACT_VS_COPY, CONVERT_VS_FOCUS_CONVERTER]
    targets = [*(ratio_targets if judged else [None] * 3), None, rss_target]
    module = importlib.import_module("bench.focus_conversion")
    measure = cast(FocusMeasure | None, getattr(module, "measure_focus", None))
    if measure is None:
        return _missing(what, targets, "not available: bench.focus_conversion.measure_focus")
    f = measure(rows)
    n = f["rows"]

    def anchor(key: str, name: str) -> tuple[float | None, str]:
        seconds = f.get(key, math.nan)
        return (None, f"{name}: not run") if math.isnan(seconds) else (n / seconds, name)

    converter, converter_what = anchor("focus_converter_s", "focus-converter (fastest)")
    duckdb, duckdb_what = anchor("duckdb_s", "DuckDB")
    converter_rss = f.get("focus_converter_rss_mb", math.nan)
    convert_rss = f.get("convert_rss_mb", math.nan)
    return [
        Row(
            what[0],
            n / f["convert_s"],
            "rows/s",
            n / f["copy_s"],
            "copy",
            targets[0],
            note=(
                f"FOCUS at {n:,.0f} rows, the whole step (reconcile {f['reconcile_s']:.1f} s"
                " of it); targets judged at 1M rows in a full run (--quick: at its size);"
                " our peak RSS includes the embedded warehouse (same process)"
            ),
        ),
        Row(what[1], n / f["extract_s"], "rows/s", n / f["copy_s"], "copy", targets[1]),
        Row(
            what[2],
            n / f["convert_s"],
            "rows/s",
            converter,
            converter_what,
            targets[2],
            note=(
                "focus-converter 1.0.0 --parquet-data-format dataset"
                " --no-export-include-source-columns, whole process, same Parquet file"
            ),
        ),
        Row(
            what[3],
            n / f["convert_s"],
            "rows/s",
            duckdb,
            duckdb_what,
            targets[3],
            note=(
                "informational, the machine's limit: one FOCUS-shaped Parquet->Parquet COPY,"
                " DuckDB one thread per core, whole process (bench/duckdb_focus.py)"
            ),
        ),
        Row(
            what[4],
            None if math.isnan(convert_rss) else convert_rss,
            "MB",
            None if math.isnan(converter_rss) else converter_rss,
            "focus-converter" if not math.isnan(converter_rss) else "",
            targets[4],
            note=(
                ""
                if rss_target is not None
                else f"the < 1 GB target is judged at {CONVERT_RSS_ROWS:,} rows"
            ),
        ),
    ]


# how the FOCUS conversion's cost grows: each size on its own fresh warehouse; the ratio
# targets are judged at the run's size (1M rows; 100k with --quick), the RSS one at 5M
FOCUS_SIZES = (QUICK_ROWS, FULL_ROWS, CONVERT_RSS_ROWS)
FOCUS_QUICK_SIZES = (QUICK_ROWS,)


def focus_sizes_rows(sizes: Sequence[int], judged_at: int) -> list[Row]:
    """focus_rows at each size; a size that fails gets its rows saying so, the rest run."""
    rows: list[Row] = []
    for size in sizes:  # a 5M-row failure (memory, say) keeps the 1M figures
        judged = size == judged_at
        rows += _rows_or_failure(
            functools.partial(focus_rows, size, judged=judged),
            [f"FOCUS convert {size:,} rows"],
            [CONVERT_VS_COPY if judged else None],
        )
    return rows


# the target for the other clouds (bench/cloud_conversions.py prints the same)
CLOUD_CONVERT_VS_COPY = Target(">=", 1 / 2.0, "ratio", "within 2x of copy")


def cloud_rows(rows: int) -> list[Row]:
    from bench.cloud_conversions import measure_clouds

    out = []
    for f in measure_clouds(rows):
        out += [
            Row(
                f"{f.provider} FOCUS convert {f.rows:,} rows vs plain copy",
                f.rows / f.convert_s,
                "rows/s",
                f.rows / f.copy_s,
                "copy",
                CLOUD_CONVERT_VS_COPY,
                note=(
                    f"{f.provider}: the whole step, {f.transaction_s:.1f} s of it its"
                    f" transaction (reconcile {f.reconcile_s:.1f} s); {f.focus_rows:,} FOCUS"
                    " rows; copy = CREATE TABLE AS SELECT * of the raw table (of the FOCUS"
                    f" rows: {f.focus_copy_s:.1f} s)"
                ),
            ),
            Row(
                f"{f.provider} FOCUS convert step peak RSS",
                None if math.isnan(f.convert_rss_mb) else f.convert_rss_mb,
                "MB",
                None if math.isnan(f.copy_rss_mb) else f.copy_rss_mb,
                "copy" if not math.isnan(f.copy_rss_mb) else "",
            ),
        ]
    return out


def slice_rows(rows: int) -> list[Row]:
    from bench.slice_replace import DAYS, measure_slice_replace

    out = []
    for procedure, f in measure_slice_replace(rows - rows % DAYS).items():
        n, merge = f["rows"], f["merge_rerun_s"]
        before = (
            f"MERGE ... ON FALSE rerun: {merge:.1f} s ({merge / f['copy_s']:.0f}x copy)"
            if not math.isnan(merge)
            else "MERGE ... ON FALSE not run at this size (its time grows with target x source)"
        )
        out.append(
            Row(
                f"{procedure} rerun {n:,.0f} rows vs plain copy",
                n / f["step_rerun_s"],
                "rows/s",
                n / f["copy_s"],
                "copy",
                note=f"{procedure}: the whole step replacing its slice; {before}",
            )
        )
    return out


def memory_rows(rows: int) -> list[Row]:
    from bench.cur_load_memory import measure_cur_memory
    from bench.genai_memory import measure_genai_memory

    out = []
    for what, measure in (
        (f"peak RSS, Anthropic usage extract {rows:,} rows", measure_genai_memory),
        (f"peak RSS, CUR file load {rows:,} rows", measure_cur_memory),
    ):
        try:
            f = measure(rows)
        except Exception as exc:  # one failing child must not hide the other's figure
            out += _missing([what], [RSS_MB], f"failed: {_reason(exc)}")
            continue
        out.append(
            Row(
                what,
                f.peak_mb,
                "MB",
                f.baseline_mb,
                "idle child",
                RSS_MB,
                note=f"{what}: {f.rows:,} rows in {f.seconds:.0f} s, warehouse out of process",
            )
        )
    return out


def import_rows() -> list[Row]:
    from bench.cold_import import measure_cold_imports

    imports, startup = measure_cold_imports()
    return [
        Row(
            f"cold import functions/{name}",
            seconds * 1000,
            "ms",
            startup * 1000,
            "bare python",
            IMPORT_MS,
        )
        for name, seconds in imports.items()
    ]


def quota_rows() -> list[Row]:
    from bench.quota import REQUESTERS, measure_quota

    f = measure_quota()
    worst = max(f.admitted_per_round, key=lambda n: abs(n - f.limit))
    return [
        Row("quota reservations, sequential", f.sequential_per_s, "/s", None, "", RESERVATIONS),
        Row(
            f"quota reservations, {REQUESTERS} threads",
            f.concurrent_per_s,
            "/s",
            None,
            "",
            RESERVATIONS,
        ),
        Row(
            f"quota admitted of {REQUESTERS} (worst round)",
            worst,
            "runs",
            f.limit,
            "limit",
            Target("==", 1, "ratio", "exactly the limit"),
            note=f"admitted per round: {list(f.admitted_per_round)}",
        ),
    ]


def _missing(what: Sequence[str], targets: Sequence[Target | None], why: str) -> list[Row]:
    return [Row(w, None, "", None, why, t) for w, t in zip(what, targets, strict=True)]


def _reason(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[-1][:200]


def _rows_or_failure(
    measure: Callable[[], list[Row]], what: Sequence[str], targets: Sequence[Target | None]
) -> list[Row]:
    """``measure()``'s rows; if it raises, the traceback on stderr and rows saying why."""
    try:
        return measure()
    except Exception as exc:
        traceback.print_exc()
        return _missing(what, targets, f"failed: {_reason(exc)}")


def collect(sections: Sequence[str], *, quick: bool, emulators: bool) -> list[Row]:
    rows_n = QUICK_ROWS if quick else FULL_ROWS
    plan: dict[str, tuple[Callable[[], list[Row]], list[str], list[Target | None]]] = {
        "orchestration": (
            lambda: orchestration_rows(emulators=emulators),
            ["orchestration"],
            [EMBEDDED_MS],
        ),
        "focus": (
            lambda: focus_sizes_rows(FOCUS_QUICK_SIZES if quick else FOCUS_SIZES, rows_n),
            ["FOCUS conversion"],
            [CONVERT_VS_COPY],
        ),
        "clouds": (
            lambda: cloud_rows(rows_n),
            ["AWS/Azure/OCI FOCUS conversion"],
            [CLOUD_CONVERT_VS_COPY],
        ),
        "slices": (lambda: slice_rows(rows_n), ["subscription slice replace"], [None]),
        "memory": (lambda: memory_rows(rows_n), ["peak RSS"], [RSS_MB]),
        "imports": (import_rows, ["cold import"], [IMPORT_MS]),
        "quota": (quota_rows, ["quota reservations"], [RESERVATIONS]),
    }
    rows: list[Row] = []
    for name in sections:
        measure, what, targets = plan[name]
        began = time.perf_counter()
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        rows += _rows_or_failure(measure, what, targets)  # the other sections still run
        print(f"bench: {name} took {time.perf_counter() - began:.0f} s", file=sys.stderr)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ROWS:,} rows, not 1M")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--skip-emulators", action="store_true")
    args = parser.parse_args(argv)
    rows = collect(args.only, quick=args.quick, emulators=not args.skip_emulators)
    render(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
