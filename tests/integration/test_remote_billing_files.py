"""AWS CUR from gs:// (GCS emulator) and s3:// (moto server) through the official clients:
the same FOCUS rows and reconciliation as the local-path run, prefixes of several files,
and clear errors that write nothing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.bootstrap.embedded import EmbeddedRuntime
from shared.demo.aws_sample import write_sample_cur
from shared.domain.cloud_billing import AWS_RAW_TABLE
from shared.domain.errors import NotFound
from shared.domain.focus import COST_TABLE
from shared.domain.sql import table_ref
from shared.domain.states import RunStatus
from shared.handlers.credentials import set_credential
from shared.handlers.reconciliation import reconciliation_rows
from tests.integration.test_aws_cur import DAYS, END, START, _run
from tests.support.billing_runs import CUR_ORDER, focus_rows
from tests.support.object_stores import Bucket
from tests.support.runtime import new_org

pytestmark = pytest.mark.warehouse

# An access key pair in the stored form; the S3 tests strip every ambient AWS identity,
# so these runs can only authenticate with it.
KEY_PAIR = "AKIAORGCREDENTIAL001:org-secret-never-echoed"


def _org(rt: EmbeddedRuntime, slug: str) -> None:
    new_org(rt, slug)
    set_credential(rt.services, slug, "aws", KEY_PAIR)


def _focus(rt: EmbeddedRuntime, slug: str) -> list[dict[str, Any]]:
    return focus_rows(rt, slug, f"{CUR_ORDER}, ResourceId")


def _recon(rt: EmbeddedRuntime, slug: str) -> list[dict[str, Any]]:
    rows = reconciliation_rows(rt.warehouse, rt.settings.org_dataset(slug), slug)
    return [{k: v for k, v in r.items() if k != "run_id"} for r in rows]


def _count(rt: EmbeddedRuntime, slug: str, table: str = AWS_RAW_TABLE) -> int:
    ref = table_ref(rt.warehouse.project_id, rt.settings.org_dataset(slug), table)
    try:
        [row] = rt.warehouse.query(f"SELECT COUNT(*) AS n FROM {ref}")
    except NotFound:  # the step failed before creating it
        return 0
    return int(row["n"])


def test_remote_cur_matches_the_local_run(
    runtime: EmbeddedRuntime, tmp_path: Path, gcs_bucket: Bucket, s3_bucket: Bucket
) -> None:
    # Day one as Parquet, day two as gzip CSV in a sub-"directory", locally and under a
    # prefix of each store; the export's manifest, a sibling prefix sharing the name's start
    # and a file beside the prefix are not read.
    local = tmp_path / "cur" / "2026-10"
    first = write_sample_cur(local / "d1.parquet", START, 1)
    second = write_sample_cur(local / "part" / "d2.csv.gz", START + timedelta(days=1), 1)
    (local / "manifest.json").write_text('{"reportKeys": []}')
    for bucket in (gcs_bucket, s3_bucket):
        for path in local.rglob("*"):
            if path.is_file():
                bucket.put(f"cur/2026-10/{path.relative_to(local).as_posix()}", path.read_bytes())
        bucket.put("cur/2026-10-old/stale.parquet", (local / "d1.parquet").read_bytes())
        bucket.put("cur/other.csv", b"line_item_usage_start_date\n")

    runs = {
        "rl_local": str(local),
        "rr_gs": gcs_bucket.uri("cur/2026-10"),
        "rr_s3": s3_bucket.uri("cur/2026-10/"),  # a trailing slash names the same prefix
    }
    for slug, uri in runs.items():
        _org(runtime, slug)
        run = _run(runtime, slug, uri)
        assert run.status is RunStatus.COMPLETED, (uri, run.error)
        assert run.steps["load_cur"].metrics["files"] == 2
        assert run.steps["load_cur"].rows_written == first + second
    expected_focus, expected_recon = _focus(runtime, "rl_local"), _recon(runtime, "rl_local")
    assert len(expected_focus) == first + second
    assert {r["day"] for r in expected_recon} == {START, END}
    assert all(r["ok"] for r in expected_recon)
    for slug in ("rr_gs", "rr_s3"):
        assert _focus(runtime, slug) == expected_focus
        assert _recon(runtime, slug) == expected_recon


@pytest.mark.parametrize("scheme", ["gs", "s3"])
def test_missing_or_bad_objects_fail_clearly_and_write_nothing(
    runtime: EmbeddedRuntime, tmp_path: Path, request: pytest.FixtureRequest, scheme: str
) -> None:
    bucket: Bucket = request.getfixturevalue(f"{scheme}_bucket".replace("gs_", "gcs_"))
    slug = f"rm_{scheme}"
    _org(runtime, slug)
    write_sample_cur(tmp_path / "cur.parquet", START, DAYS)
    bucket.put("cur/cur.parquet", (tmp_path / "cur.parquet").read_bytes())
    bucket.put("cur/manifest.json", b"{}")
    # a good file, then one with a bad value: the first one's rows must not land either
    bucket.put("mixed/a.parquet", (tmp_path / "cur.parquet").read_bytes())
    bucket.put(
        "mixed/b.csv",
        b"line_item_usage_start_date,line_item_line_item_type,line_item_unblended_cost,"
        b"line_item_currency_code\n2026-10-01T00:00:00Z,Usage,12..5,USD\n",
    )
    cases = {
        bucket.uri("mixed/"): "mixed/b.csv: line 2: line_item_unblended_cost",
        bucket.uri("nothing/here.parquet"): "no billing files",
        bucket.uri("cur/manifest.json"): "not a billing file",
        f"{bucket.scheme}://no-such-bucket-{slug.replace('_', '-')}/cur/": "not found",
        f"{bucket.scheme}://B!/cur": "not a valid bucket name",
    }
    for uri, message in cases.items():
        run = _run(runtime, slug, uri)
        assert run.status is RunStatus.FAILED
        error = run.steps["load_cur"].error or ""
        assert uri in error, error
        assert message in error, error
        assert "org-secret" not in error
        assert run.steps["load_cur"].attempt == 1, "not retried: retrying cannot help"
    assert _count(runtime, slug) == 0
    assert _count(runtime, slug, COST_TABLE) == 0
