"""``make up`` / ``make down``: the function topology on one machine.

``up`` starts the Firestore and Pub/Sub emulators, bqemulator, and one
functions-framework process per function (the HTTP ``api`` plus the Pub/Sub-triggered
ones), then creates the topics, their dead-letter topics and one PUSH subscription per
function. The push endpoint is ``http://127.0.0.1:PORT/projects/P/topics/T``: the
framework reads the topic from that path into the CloudEvent ``source``, as in GCP.

Every process runs in its own process group; its pid is written to
``$PIPELINES_HOME/stack/<name>.pid`` with its command line, and ``down`` stops exactly
those groups (after checking that the pid still runs that command line).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from shared import REPO_ROOT
from shared.config.jobs import JOBS, JobTopic
from shared.devtools.emulators import (
    Emulator,
    EmulatorError,
    free_port,
    start_firestore,
    start_process,
    start_pubsub,
    stop_groups,
)

REPO = REPO_ROOT
DEFAULT_PROJECT = "pipelines-local"
ACK_DEADLINE_SECONDS = 600  # a push waits for the function's answer; steps can be long


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    name: str  # process name and pid file
    source: str  # relative to the repo root
    target: str
    topic: str | None  # None: HTTP-triggered


FUNCTIONS = (
    FunctionSpec("api", "functions/api/main.py", "api", None),
    FunctionSpec("step_runner", "functions/step_runner/main.py", "step_runner", "step-requests"),
    FunctionSpec("coordinator", "functions/coordinator/main.py", "coordinator", "step-events"),
    FunctionSpec("run_requests", "functions/dispatcher/main.py", "run_requests", "run-requests"),
    FunctionSpec(
        "scheduler_tick", "functions/dispatcher/main.py", "scheduler_tick", "scheduler-ticks"
    ),
    # The periodic jobs (shared/config/jobs.py), one function per Cloud Scheduler topic.
    *(
        FunctionSpec(job.entry_point, "functions/maintenance/main.py", job.entry_point, job.topic)
        for job in JOBS
    ),
)


@dataclass
class Stack:
    """What ``up`` started: enough for tests and ``down``."""

    home: Path
    project: str
    env: dict[str, str]  # what a client process needs to reach the stack
    ports: dict[str, int]

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['api']}"

    def save(self) -> None:
        data = {**asdict(self), "home": str(self.home)}
        (self.home / "stack" / "stack.json").write_text(json.dumps(data, indent=2))


def _stack_dir(home: Path) -> Path:
    return home / "stack"


def _write_pid(home: Path, emulator: Emulator, argv: list[str]) -> None:
    record = {"pid": emulator.process.pid, "argv": argv, "port": emulator.port}
    (_stack_dir(home) / f"{emulator.name}.pid").write_text(json.dumps(record))


def _start(
    home: Path, name: str, argv: list[str], port: int, env: dict[str, str] | None = None
) -> Emulator:
    emulator = start_process(name, argv, port, _stack_dir(home) / "logs", timeout=90, env=env)
    _write_pid(home, emulator, argv)
    return emulator


def _bqemulator_argv(home: Path, project: str, port: int) -> list[str]:
    # Our launcher, not the `bqemulator` CLI: it serialises requests (see bq_emulator).
    data_dir = home / "stack" / "bigquery"
    data_dir.mkdir(parents=True, exist_ok=True)
    return [
        sys.executable,
        "-m",
        "shared.adapters.bigquery.emulator",
        "--port",
        str(port),
        "--project",
        project,
        "--data-dir",
        str(data_dir),
    ]


def up(
    home: Path,
    project: str = DEFAULT_PROJECT,
    *,
    firestore: Emulator | None = None,
    pubsub: Emulator | None = None,
    configs_dir: Path | None = None,
    extra_env: dict[str, str] | None = None,
) -> Stack:
    """Start everything (see the module docstring); stops what it started on failure.

    Running ``firestore``/``pubsub`` emulators may be given (the test session's): they
    are used, not recorded, so ``down`` leaves them to their owner. ``extra_env`` is
    added to every function's environment (e.g. a short PIPELINES_LEASE_GRACE_SECONDS).
    """
    stack_dir = _stack_dir(home)
    if any(stack_dir.glob("*.pid")):
        raise EmulatorError(f"a stack is already recorded in {stack_dir}: run `make down` first")
    stack_dir.mkdir(parents=True, exist_ok=True)
    started: list[Emulator] = []
    try:
        bq_port = free_port()
        backends: list[Callable[[], Emulator]] = [
            lambda: _start(home, "bigquery", _bqemulator_argv(home, project, bq_port), bq_port),
        ]
        if firestore is None:
            backends.append(lambda: _record(home, start_firestore(stack_dir / "logs")))
        if pubsub is None:
            backends.append(lambda: _record(home, start_pubsub(stack_dir / "logs")))
        started += _parallel(backends)
        own = {e.name: e for e in started}
        firestore = firestore or own["firestore"]
        pubsub = pubsub or own["pubsub"]
        env = {
            "PIPELINES_RUNTIME": "emulators",
            "PIPELINES_PROJECT_ID": project,
            "PIPELINES_HOME": str(home),
            "PIPELINES_ENV": os.environ.get("PIPELINES_ENV", "local"),
            "FIRESTORE_EMULATOR_HOST": firestore.host_port,
            "PUBSUB_EMULATOR_HOST": pubsub.host_port,
            "BIGQUERY_EMULATOR_URL": f"http://127.0.0.1:{bq_port}",
        }
        if configs_dir is not None:
            env["PIPELINES_CONFIGS_DIR"] = str(configs_dir)
        env.update(extra_env or {})
        ports = {spec.name: free_port() for spec in FUNCTIONS}
        started += _parallel(
            [
                functools.partial(_start_function, home, spec, ports[spec.name], env)
                for spec in FUNCTIONS
            ]
        )
        stack = Stack(home, project, env, {**ports, "bigquery": bq_port})
        stack.save()
        _create_topics_and_subscriptions(stack)
        return stack
    except BaseException:
        for process in reversed(started):
            process.stop()
        for pid_file in stack_dir.glob("*.pid"):
            pid_file.unlink()
        raise


def _record(home: Path, emulator: Emulator) -> Emulator:
    _write_pid(home, emulator, list(map(str, emulator.process.args)))  # type: ignore[arg-type]
    return emulator


def _parallel(starters: list[Callable[[], Emulator]]) -> list[Emulator]:
    """Start several processes at once; if one fails, stop the others and re-raise."""
    with ThreadPoolExecutor(max_workers=len(starters)) as pool:
        futures = [pool.submit(start) for start in starters]
    done: list[Emulator] = []
    error: BaseException | None = None
    for future in futures:
        try:
            done.append(future.result())
        except BaseException as exc:
            error = error or exc
    if error is not None:
        for emulator in done:
            emulator.stop()
        raise error
    return done


def _start_function(home: Path, spec: FunctionSpec, port: int, env: dict[str, str]) -> Emulator:
    argv = [
        str(Path(sys.executable).parent / "functions-framework"),
        "--target",
        spec.target,
        "--source",
        str(REPO / spec.source),
        "--port",
        str(port),
        "--host",
        "127.0.0.1",
    ]
    function_env = {**env, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    # A cloud_event function answers GET with 405 (not 200): readiness is "answers HTTP".
    return _start(home, spec.name, argv, port, function_env)


def kill_function(stack: Stack, name: str) -> None:
    """SIGKILL one function's process group at once, as a crashed instance would die."""
    record = json.loads((_stack_dir(stack.home) / f"{name}.pid").read_text())
    pid = int(record["pid"])
    if _runs(pid, int(record["port"])):
        os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)  # reap it: a zombie would still look alive to `down`


def restart_function(stack: Stack, name: str) -> None:
    """Start a (killed) function again on its port, like a new instance."""
    [spec] = [s for s in FUNCTIONS if s.name == name]
    _start_function(stack.home, spec, stack.ports[name], stack.env)


def _create_topics_and_subscriptions(stack: Stack) -> None:
    os.environ["PUBSUB_EMULATOR_HOST"] = stack.env["PUBSUB_EMULATOR_HOST"]
    from google.cloud.pubsub_v1 import SubscriberClient

    from shared.adapters.pubsub_bus import PubSubBus, dead_letter_topic_path, topic_path
    from shared.domain.messages import Topic

    PubSubBus(stack.project).ensure_topics((*Topic, *JobTopic))
    subscriber = SubscriberClient()
    try:
        for spec in FUNCTIONS:
            if spec.topic is None:
                continue
            topic = topic_path(stack.project, spec.topic)
            subscriber.create_subscription(
                request={
                    "name": f"projects/{stack.project}/subscriptions/{spec.name}-push",
                    "topic": topic,
                    "ack_deadline_seconds": ACK_DEADLINE_SECONDS,
                    "push_config": {
                        "push_endpoint": f"http://127.0.0.1:{stack.ports[spec.name]}/{topic}"
                    },
                }
            )
            # Dead letters are kept for inspection on a pull subscription.
            subscriber.create_subscription(
                request={
                    "name": f"projects/{stack.project}/subscriptions/{spec.topic}-dead-letter",
                    "topic": dead_letter_topic_path(stack.project, spec.topic),
                }
            )
    finally:
        subscriber.close()


def down(home: Path) -> list[str]:
    """Stop every process ``up`` recorded under ``home``; returns their names."""
    stopped: dict[str, int] = {}
    pid_files = sorted(_stack_dir(home).glob("*.pid"))
    for pid_file in pid_files:
        record = json.loads(pid_file.read_text())
        pid = int(record["pid"])
        if _runs(pid, int(record["port"])):
            stopped[pid_file.stem] = pid
    stop_groups(list(stopped.values()))
    for pid_file in pid_files:
        pid_file.unlink()
    stack_json = _stack_dir(home) / "stack.json"
    stack_json.unlink(missing_ok=True)
    return list(stopped)


def _runs(pid: int, port: int) -> bool:
    """Is ``pid`` still the process we started (not a recycled pid)? Its command line
    names its port (``--port P``, ``--rest-port P`` or ``--host-port=H:P``)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    return any(part.endswith(str(port)) for part in cmdline.split("\0"))


def seed_demo_org(stack: Stack) -> tuple[str, str, int]:
    """The demo org with sample SaaS subscriptions: (org, api key, plans loaded)."""
    os.environ.update(stack.env)
    from datetime import timedelta

    from shared.bootstrap.cloud import build_cloud_services
    from shared.config.settings import Settings
    from shared.demo.subscriptions import sample_subscription_plans
    from shared.domain.quota import SubscriptionStatus
    from shared.domain.saas_subscriptions import PLANS_COLUMNS, PLANS_TABLE
    from shared.handlers.onboarding import create_org

    services = build_cloud_services(Settings.from_env())
    org_slug = "acme_stack"
    _, api_key = create_org(
        services, org_slug, name="Acme (stack)", plan="scale", status=SubscriptionStatus.ACTIVE
    )
    month_start = (services.clock.now().date().replace(day=1) - timedelta(days=1)).replace(day=1)
    plans = sample_subscription_plans(org_slug, month_start)
    services.warehouse.load_rows(
        services.settings.org_dataset(org_slug), PLANS_TABLE, PLANS_COLUMNS, plans
    )
    return org_slug, api_key, len(plans)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.devtools.stack")
    parser.add_argument("command", choices=["up", "down"])
    args = parser.parse_args(argv)
    home = Path(os.environ.get("PIPELINES_HOME", ".pipelines")).resolve()
    if args.command == "down":
        stopped = down(home)
        print(f"stopped: {', '.join(stopped) or 'nothing was running'}")
        return 0
    started = time.monotonic()
    stack = up(home)
    org, key, plans = seed_demo_org(stack)
    print(f"stack up in {time.monotonic() - started:.1f} s (logs: {home}/stack/logs)")
    for name, port in sorted(stack.ports.items()):
        print(f"  {name:<15} http://127.0.0.1:{port}")
    print(f"\ndemo org {org} with {plans} SaaS subscriptions; API key (shown once): {key}")
    run_url = f"{stack.api_url}/api/v1/pipelines/run/{org}/subscription/costs/subscription_cost"
    print("\nstart a run (default window: yesterday, UTC):")
    print(f"  curl -s -X POST -H 'X-API-Key: {key}' -H 'Content-Type: application/json' \\")
    print(f"       -d '{{}}' {run_url}")
    print("follow it:")
    print(f"  curl -s -H 'X-API-Key: {key}' {stack.api_url}/api/v1/pipelines/status/{org}/RUN_ID")
    print("\nmake down stops exactly these processes.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
