"""terraform/ declares exactly what the code uses: topics, functions, scheduler targets.

Parsed with python-hcl2 (terraform validate needs provider plugins, which cannot be
downloaded here); ``terraform fmt -check`` runs when terraform is on the PATH.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import hcl2
import pytest

from shared.config.jobs import JOBS, JobTopic
from shared.devtools.stack import FUNCTIONS
from shared.domain.messages import Topic
from shared.handlers import run_requests
from tests.support.emulators import unavailable

TERRAFORM = Path(__file__).resolve().parents[2] / "terraform"


def _unquote(value: Any) -> Any:
    """python-hcl2 keeps string literals' quotes and block labels' quotes."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    if isinstance(value, dict):
        return {_unquote(k): _unquote(v) for k, v in value.items() if k != "__is_block__"}
    if isinstance(value, list):
        return [_unquote(v) for v in value]
    return value


def _load() -> tuple[dict[str, Any], dict[str, dict[str, Any]], dict[str, Any]]:
    """(locals, resources by type then name, variables) over every .tf file."""
    local: dict[str, Any] = {}
    resources: dict[str, dict[str, Any]] = {}
    variables: dict[str, Any] = {}
    for path in sorted(TERRAFORM.glob("*.tf")):
        with path.open() as handle:
            doc = _unquote(hcl2.load(handle))
        for block in doc.get("locals", []):
            local.update(block)
        for block in doc.get("resource", []):
            for kind, named in block.items():
                resources.setdefault(kind, {}).update(named)
        for block in doc.get("variable", []):
            variables.update(block)
    return local, resources, variables


LOCALS, RESOURCES, VARIABLES = _load()


def _code_functions() -> dict[str, dict[str, Any]]:
    return {
        spec.name: {
            "source": Path(spec.source).parent.name,
            "entry_point": spec.target,
            "topic": spec.topic,
        }
        for spec in FUNCTIONS
    }


def test_terraform_is_formatted() -> None:
    if shutil.which("terraform") is None:
        unavailable("terraform is not on the PATH")
    result = subprocess.run(
        ["terraform", "fmt", "-check", "-recursive", str(TERRAFORM)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"unformatted: {result.stdout}"


def test_topics_are_exactly_the_codes_topics_each_with_a_dead_letter_topic() -> None:
    assert sorted(LOCALS["topics"]) == sorted([*(t.value for t in Topic), *JobTopic])
    topics = RESOURCES["google_pubsub_topic"]
    assert topics["topics"]["for_each"] == "${toset(local.topics)}"
    assert topics["dead_letter"]["for_each"] == "${toset(local.topics)}"
    assert topics["dead_letter"]["name"] == "${each.value}-dead-letter"
    # Dead letters are readable: every dead-letter topic has its own subscription.
    subscription = RESOURCES["google_pubsub_subscription"]["dead_letter"]
    assert subscription["for_each"] == "${google_pubsub_topic.dead_letter}"


def test_functions_are_exactly_the_codes_functions() -> None:
    declared = {
        name: {k: spec[k] for k in ("source", "entry_point", "topic")}
        for name, spec in LOCALS["functions"].items()
    }
    assert declared == _code_functions()
    for spec in FUNCTIONS:  # the sources exist where the zips are built from
        assert (TERRAFORM.parent / spec.source).is_file()


def test_every_function_is_deployed_with_a_retrying_pubsub_trigger() -> None:
    function = RESOURCES["google_cloudfunctions2_function"]["functions"]
    assert function["for_each"] == "${local.functions}"
    assert function["build_config"][0]["entry_point"] == "${each.value.entry_point}"
    [dynamic] = function["dynamic"]
    trigger = dynamic["event_trigger"]
    assert trigger["for_each"] == "${each.value.topic == null ? [] : [each.value.topic]}"
    [content] = trigger["content"]
    assert content["event_type"] == "google.cloud.pubsub.topic.v1.messagePublished"
    assert content["pubsub_topic"] == "${google_pubsub_topic.topics[event_trigger.value].id}"
    assert content["retry_policy"] == "RETRY_POLICY_RETRY"
    env = LOCALS["runtime_env"]
    assert env["PIPELINES_RUNTIME"] == "gcp"
    assert {"PIPELINES_PROJECT_ID", "PIPELINES_ENV", "PIPELINES_KMS_KEY"} <= set(env)


def test_service_accounts_and_publish_grants_name_declared_things() -> None:
    accounts = set(LOCALS["runtime_accounts"])
    assert {spec["sa"] for spec in LOCALS["functions"].values()} == accounts  # none unused
    topics = {t.value for t in Topic} | {t.value for t in JobTopic}
    dead_letters = {f"{t}-dead-letter" for t in topics}
    for account, published in LOCALS["publishes"].items():
        assert account in accounts
        if account == "maintenance":  # an expression over local.jobs: checked below
            continue
        assert set(published) <= topics | dead_letters


def test_scheduler_jobs_publish_run_requests_the_dispatcher_accepts() -> None:
    jobs = RESOURCES["google_cloud_scheduler_job"]
    assert set(jobs) == {"runs", "maintenance"}
    [target] = jobs["runs"]["pubsub_target"]
    assert target["topic_name"] == '${google_pubsub_topic.topics["scheduler-ticks"].id}'
    consumers = {spec.topic: spec.name for spec in FUNCTIONS}
    assert consumers[Topic.SCHEDULER_TICKS.value] == "scheduler_tick"
    body_keys = set(re.findall(r"(\w+)\s*=\s*each\.value", target["data"]))
    assert body_keys == {"org_slug", "pipeline", "parameters"}
    assert body_keys <= run_requests._KEYS


def test_periodic_jobs_are_the_codes_jobs_on_their_own_topics() -> None:
    assert LOCALS["jobs"] == {
        job.topic.value: {"entry_point": job.entry_point, "schedule": job.cron} for job in JOBS
    }
    job = RESOURCES["google_cloud_scheduler_job"]["maintenance"]
    assert job["for_each"] == "${local.jobs}"
    assert job["schedule"] == "${each.value.schedule}"
    assert job["time_zone"] == "Etc/UTC"
    [target] = job["pubsub_target"]
    assert target["topic_name"] == "${google_pubsub_topic.topics[each.key].id}"
    # Each job's topic triggers the function of the same entry point.
    triggered = {spec["topic"]: spec["entry_point"] for spec in LOCALS["functions"].values()}
    assert all(triggered[j.topic.value] == j.entry_point for j in JOBS)
    # Maintenance may publish step requests (the schedules tick dispatches runs) and
    # dead-letter its own poison ticks.
    assert "keys(local.jobs)" in LOCALS["publishes"]["maintenance"]


def test_job_crons_are_valid_and_utc() -> None:
    from shared.domain.schedules import next_fire

    start = datetime(2026, 3, 31, 23, 59, tzinfo=UTC)
    fires = {job.entry_point: next_fire(job.cron, start) for job in JOBS}
    assert fires["reset_daily_quotas"] == datetime(2026, 4, 1, 0, 0, tzinfo=UTC)
    assert fires["reset_monthly_quotas"] == datetime(2026, 4, 1, 0, 0, tzinfo=UTC)
    assert fires["reset_stale_concurrent_counts"] == datetime(2026, 4, 1, 0, 0, tzinfo=UTC)
    assert next_fire("0 0 1 * *", fires["reset_monthly_quotas"]) == datetime(2026, 5, 1, tzinfo=UTC)


@pytest.mark.parametrize("env", ["dev", "stage", "prod"])
def test_every_environment_has_its_variables(env: str) -> None:
    with (TERRAFORM / "envs" / f"{env}.tfvars").open() as handle:
        values = _unquote(hcl2.load(handle))
    assert values["env"] == env
    assert values["project_id"]
    assert set(values) <= set(VARIABLES)
