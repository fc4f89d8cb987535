"""The benchmark table: its 'met?' verdicts, ratios and rendering (no figure is asserted)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bench import report
from bench.genai_pages_server import ROWS_PER_RESULT, page_count, usage_page
from bench.memory import peak_rss_mb
from bench.report import Row, Target


@pytest.mark.parametrize(
    ("target", "figure", "reference", "met"),
    [
        (Target("<=", 5), 5.0, None, "yes"),
        (Target("<=", 5), 5.01, None, "NO"),
        (Target("<", 500), 499.9, 120.0, "yes"),
        (Target("<", 500), 500.0, 120.0, "NO"),
        (Target(">=", 200), 200.0, None, "yes"),
        (Target(">=", 200), 199.0, None, "NO"),
        # on the ratio: figure / reference
        (Target(">=", 2.5, "ratio"), 500.0, 200.0, "yes"),
        (Target(">=", 2.5, "ratio"), 499.0, 200.0, "NO"),
        (Target("==", 1, "ratio"), 25.0, 25.0, "yes"),
        (Target("==", 1, "ratio"), 24.0, 25.0, "NO"),
        # what the target bounds was not measured
        (Target(">=", 2.5, "ratio"), 500.0, None, "n/a"),
        (Target(">=", 2.5, "ratio"), 500.0, math.nan, "n/a"),
        (Target("<=", 5), math.nan, None, "n/a"),
        (None, 3.0, 1.0, "-"),
    ],
)
def test_met(target: Target | None, figure: float, reference: float | None, met: str) -> None:
    assert Row("x", figure, "ms", reference, "ref", target).met == met


def test_a_row_not_measured_is_not_met_and_has_no_ratio() -> None:
    row = Row("FOCUS", None, "", None, "not available: measure_focus", Target(">=", 2.5, "ratio"))
    assert row.met == "n/a"
    assert row.ratio is None
    assert report.cells(row)["figure"] == "not measured"
    assert report.cells(row)["reference (same run)"] == "not available: measure_focus"


def test_cells_show_figure_reference_ratio_and_target() -> None:
    row = Row("emulators chain", 42.0, "ms/step", 3.5, "embedded", Target("<=", 60))
    assert report.cells(row) == {
        "what": "emulators chain",
        "figure": "42.0 ms/step",
        "reference (same run)": "embedded 3.50 ms/step",
        "ratio": "12.00x",
        "target": "<= 60.0 ms/step",
        "met?": "yes",
    }
    fc = Row("vs fc", 400_000.0, "rows/s", 160_000.0, "fc", Target(">=", 2.5, "ratio"))
    assert report.cells(fc)["target"] == "ratio >= 2.5"
    assert report.cells(fc)["figure"] == "400,000 rows/s"


def test_render_prints_one_table_with_footnotes(capsys: pytest.CaptureFixture[str]) -> None:
    report.render(
        [
            Row("embedded chain", 2.0, "ms/step", target=Target("<=", 5)),
            Row("peak RSS", 620.0, "MB", 170.0, "idle child", Target("<", 500), note="CUR 1M"),
        ]
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["what", "figure", "reference"]
    assert lines[0].split()[-3:] == ["ratio", "target", "met?"]
    assert lines[2].startswith("embedded chain")
    assert lines[2].endswith("yes")
    assert lines[3].startswith("peak RSS [1]")
    assert lines[3].endswith("NO")
    assert "3.65x" in lines[3]
    assert lines[4] == "[1] CUR 1M"


def test_a_failing_section_still_gets_its_row(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> list[Row]:
        raise RuntimeError("bqemulator did not start")

    monkeypatch.setattr(report, "quota_rows", broken)
    [row] = report.collect(["quota"], quick=True, emulators=False)
    assert row.figure is None
    assert row.met == "n/a"
    assert row.reference_what == "failed: bqemulator did not start"


def test_generated_pages_serve_the_rows_asked_for() -> None:
    rows, per_page = 10_000, 300
    pages = [usage_page(n, rows, per_page) for n in range(page_count(rows, per_page))]
    results = sum(len(p["data"][0]["results"]) for p in pages)
    assert results * ROWS_PER_RESULT >= rows > (results - 1) * ROWS_PER_RESULT
    assert [p["has_more"] for p in pages] == [True] * (len(pages) - 1) + [False]
    assert usage_page(3, rows, per_page) == pages[3]  # deterministic


def test_focus_rows_from_measure_focus(monkeypatch: pytest.MonkeyPatch) -> None:
    import bench.focus_conversion

    figures = {
        "rows": 1_000_000.0,
        "copy_s": 2.0,  # 500k rows/s
        "extract_s": 4.0,  # 250k rows/s: 2x the copy, beyond 1.5x
        "convert_s": 2.5,  # 400k rows/s: 1.25x the copy, within 1.8x
        "reconcile_s": 1.0,
        "focus_converter_s": 5.0,  # 200k rows/s: ours is 2x, at least 1.5x
        "duckdb_s": 1.0,  # 1M rows/s: ours is a third, informational
        "focus_converter_rss_mb": 600.0,
        "duckdb_rss_mb": 150.0,
        "convert_rss_mb": 900.0,
    }
    asked: list[int] = []

    def measure_focus(rows: int) -> dict[str, float]:
        asked.append(rows)
        return figures

    monkeypatch.setattr(bench.focus_conversion, "measure_focus", measure_focus, raising=False)
    copy, extract, converter, duckdb, rss = report.focus_rows(100_000)
    assert asked == [100_000]
    assert (copy.figure, copy.reference, copy.ratio, copy.met) == (400_000, 500_000, 0.8, "yes")
    assert (extract.ratio, extract.met) == (0.5, "NO")
    assert (converter.reference, converter.ratio, converter.met) == (200_000, 2.0, "yes")
    assert (duckdb.reference, duckdb.met) == (1_000_000, "-")  # no target
    assert (rss.figure, rss.reference, rss.met) == (900, 600, "-")  # judged at 5M only
    *_, rss = report.focus_rows(5_000_000)
    assert rss.met == "yes"

    monkeypatch.setitem(figures, "focus_converter_s", math.nan)  # focus-converter not run
    monkeypatch.setitem(figures, "duckdb_s", math.nan)
    _, _, converter, duckdb, _ = report.focus_rows(100_000)
    assert converter.reference is None
    assert converter.met == "n/a"
    assert "not run" in report.cells(converter)["reference (same run)"]
    assert "not run" in report.cells(duckdb)["reference (same run)"]


def test_the_focus_section_runs_each_size_and_judges_the_targets_at_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import bench.focus_conversion

    asked: list[int] = []

    def measure_focus(rows: int) -> dict[str, float]:
        asked.append(rows)
        if rows == 5_000_000:
            raise MemoryError("Out of Memory Error: failed to pin block")
        figures = {"rows": float(rows), "copy_s": 1.0, "extract_s": 1.0, "convert_s": 1.0}
        return figures | {"reconcile_s": 0.1, "focus_converter_s": 1.0, "duckdb_s": 1.0}

    monkeypatch.setattr(bench.focus_conversion, "measure_focus", measure_focus, raising=False)
    focus = report.collect(["focus"], quick=False, emulators=False)
    assert asked == [100_000, 1_000_000, 5_000_000]
    judged = [r.what for r in focus if r.target is not None]
    assert judged == [
        "FOCUS convert 1,000,000 rows vs plain copy",
        "FOCUS extract 1,000,000 rows vs plain copy",
        "FOCUS convert 1,000,000 rows vs focus-converter",
    ]
    *_, failed = focus  # the 5M size failed alone: its row says why, the others stand
    assert (failed.what, failed.figure) == ("FOCUS convert 5,000,000 rows", None)
    assert "failed: Out of Memory Error" in failed.reference_what
    assert len(focus) == 2 * 5 + 1

    asked.clear()
    quick = report.collect(["focus"], quick=True, emulators=False)
    assert asked == [100_000]
    assert [r.met for r in quick][:3] == ["yes", "yes", "NO"]  # judged at the quick size


def test_focus_rows_without_measure_focus_say_not_available(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import bench.focus_conversion

    monkeypatch.delattr(bench.focus_conversion, "measure_focus", raising=False)
    rows = report.focus_rows(100_000)
    assert [r.met for r in rows] == ["n/a", "n/a", "n/a", "-", "-"]
    assert all(r.reference_what.startswith("not available") for r in rows)


def test_peak_rss_is_this_programs_own_high_water_mark(tmp_path: Path) -> None:
    status = tmp_path / "status"
    status.write_text(
        "Name:\tpython\nVmPeak:\t  900000 kB\nVmHWM:\t  204800 kB\nVmRSS:\t 1024 kB\n"
    )
    assert peak_rss_mb(status) == 200.0
    assert peak_rss_mb() > 0  # this process, from /proc or getrusage


def test_cloud_rows_from_measure_clouds(monkeypatch: pytest.MonkeyPatch) -> None:
    import bench.cloud_conversions
    from bench.cloud_conversions import CONVERT_VS_COPY_MAX, ConversionFigures

    def figures(provider: str, convert_s: float, rss_mb: float) -> ConversionFigures:
        return ConversionFigures(
            provider=provider,
            rows=200_000,
            focus_rows=200_000,
            copy_s=1.0,  # 200k rows/s
            convert_s=convert_s,
            transaction_s=convert_s / 2,
            reconcile_s=0.1,
            focus_copy_s=1.2,
            copy_rss_mb=500.0,
            convert_rss_mb=rss_mb,
        )

    asked: list[int] = []

    def measure_clouds(rows: int) -> list[ConversionFigures]:
        asked.append(rows)
        return [figures("aws", 1.5, 700.0), figures("oci", 2.5, math.nan)]

    monkeypatch.setattr(bench.cloud_conversions, "measure_clouds", measure_clouds)
    aws, aws_rss, oci, oci_rss = report.cloud_rows(200_000)
    assert asked == [200_000]
    assert report.CLOUD_CONVERT_VS_COPY.value == 1 / CONVERT_VS_COPY_MAX  # the bench's own
    assert (aws.figure, aws.reference, aws.met) == (200_000 / 1.5, 200_000, "yes")  # 1.5x
    assert (oci.ratio, oci.met) == (0.4, "NO")  # 2.5x the copy's seconds
    assert (aws_rss.figure, aws_rss.reference, aws_rss.met) == (700, 500, "-")
    assert (oci_rss.figure, oci_rss.met) == (None, "-")  # no peak where /proc cannot reset it


def test_slice_rows_from_measure_slice_replace(monkeypatch: pytest.MonkeyPatch) -> None:
    import bench.slice_replace

    asked: list[int] = []

    def measure_slice_replace(rows: int) -> dict[str, dict[str, float]]:
        asked.append(rows)
        return {
            "sp_a": {"rows": 100_000, "copy_s": 0.5, "step_rerun_s": 1.0, "merge_rerun_s": 50.0},
            "sp_b": {
                "rows": 100_000,
                "copy_s": 1.0,
                "step_rerun_s": 2.0,
                "merge_rerun_s": math.nan,
            },
        }

    monkeypatch.setattr(bench.slice_replace, "measure_slice_replace", measure_slice_replace)
    a, b = report.slice_rows(100_005)  # rounded down to whole days of plans
    assert asked == [100_000]
    assert (a.figure, a.reference, a.ratio, a.met) == (100_000, 200_000, 0.5, "-")
    assert "MERGE ... ON FALSE rerun: 50.0 s (100x copy)" in a.note
    assert "not run at this size" in b.note
