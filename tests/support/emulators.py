"""Session fixtures for the Firestore and Pub/Sub emulators.

Each emulator starts once per test session, and only if a collected test asks for it.
Under CI=true an emulator that is missing or fails to start FAILS the tests that need
it (CI must never pass by skipping); elsewhere those tests are skipped with the reason.
"""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from google.cloud import firestore

from shared.bootstrap.cloud import PROCESSOR_MODULES_ENV
from shared.devtools.emulators import (
    Emulator,
    EmulatorError,
    start_firestore,
    start_pubsub,
    wipe_firestore,
)
from shared.devtools.stack import REPO, Stack, down, up
from tests.support.runtime import wait_then_after

EMULATOR_PROJECT = "pipelines-test"
STACK_PROJECT = "pipelines-stack-test"  # the function topology's own project on the emulators


def unavailable(reason: str) -> None:
    """Fail under CI=true, skip elsewhere."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"emulator unavailable under CI: {reason}", pytrace=False)
    else:
        pytest.skip(f"emulator unavailable: {reason}")


def _session_emulator(
    tmp_path_factory: pytest.TempPathFactory,
    start: Callable[[Path], Emulator],
    env_var: str,
) -> Iterator[Emulator]:
    try:
        emulator = start(tmp_path_factory.mktemp("emulator-logs"))
    except EmulatorError as exc:
        unavailable(str(exc))
        raise AssertionError("unreachable") from exc
    previous = os.environ.get(env_var)
    # The official clients find emulators only through these variables.
    os.environ[env_var] = emulator.host_port
    try:
        yield emulator
    finally:
        if previous is None:
            os.environ.pop(env_var, None)
        else:
            os.environ[env_var] = previous
        emulator.stop()


@pytest.fixture(scope="session")
def firestore_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    yield from _session_emulator(tmp_path_factory, start_firestore, "FIRESTORE_EMULATOR_HOST")


@pytest.fixture(scope="session")
def pubsub_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    yield from _session_emulator(tmp_path_factory, start_pubsub, "PUBSUB_EMULATOR_HOST")


@functools.cache
def firestore_client() -> firestore.Client:
    """One client (one gRPC channel) on the test emulator's project for the session."""
    return firestore.Client(project=EMULATOR_PROJECT)


@pytest.fixture
def clean_firestore(firestore_emulator: Emulator) -> Emulator:
    """The Firestore emulator, emptied before the test."""
    wipe_firestore(firestore_emulator.host_port, EMULATOR_PROJECT)
    return firestore_emulator


@pytest.fixture(scope="session")
def function_stack(
    tmp_path_factory: pytest.TempPathFactory,
    firestore_emulator: Emulator,
    pubsub_emulator: Emulator,
) -> Iterator[Stack]:
    """The `make up` topology (bqemulator + one functions-framework process per
    function) on the session's emulators, started once per session."""
    home = tmp_path_factory.mktemp("stack")
    configs = _configs_with_fast_lease(home)
    try:
        stack = up(
            home,
            STACK_PROJECT,
            firestore=firestore_emulator,
            pubsub=pubsub_emulator,
            configs_dir=configs,
            # A killed runner's attempt is reclaimable soon after its step timeout.
            extra_env={
                "PIPELINES_LEASE_GRACE_SECONDS": str(FAST_LEASE_GRACE_SECONDS),
                # test.record (a step that sleeps until cancelled) in every function.
                PROCESSOR_MODULES_ENV: "tests.support.processors",
            },
        )
    except EmulatorError as exc:
        unavailable(str(exc))
        raise AssertionError("unreachable") from exc
    try:
        yield stack
    finally:
        down(home)


FAST_LEASE_PIPELINE = "subscription/costs/subscription_cost_fast_lease"
SLOW_PIPELINE = "subscription/costs/slow_then_more"  # test.record: sleeps until cancelled
FAST_LEASE_TIMEOUT_SECONDS = 5
FAST_LEASE_GRACE_SECONDS = 2


def _configs_with_fast_lease(home: Path) -> Path:
    """The repo's configs plus a copy of the subscription pipeline with short step
    timeouts: a killed runner's lease (timeout + grace) then expires within the test."""
    configs = home / "configs"
    shutil.copytree(REPO / "configs", configs)
    source = configs / "subscription" / "costs" / "subscription_cost.yml"
    body = yaml.safe_load(source.read_text())
    body["pipeline_id"] = "subscription_cost_fast_lease"
    for step in body["steps"]:
        step["timeout_seconds"] = FAST_LEASE_TIMEOUT_SECONDS
    (source.parent / "subscription_cost_fast_lease.yml").write_text(yaml.safe_dump(body))
    slow = {**wait_then_after("slow_then_more"), "name": "A long first step, then another"}
    (source.parent / "slow_then_more.yml").write_text(yaml.safe_dump(slow))
    return configs
