"""Orchestration overhead per step: pipelines of no-op steps, embedded vs emulator topology.

Two shapes: a chain (step i depends on step i-1) and a fan-out (one root, then N-1 steps
that depend only on it). Each run's wall time, from dispatch to the run's terminal
state, divided by its number of steps, is the per-step overhead: the steps do nothing
(bench/noop_processor.py). Targets (shared/TARGETS.md): embedded <= 5 ms/step,
emulator topology <= 60 ms/step; the ratio is emulator/embedded, measured in this run.

    python -m bench.orchestration [--steps 200] [--emulator-steps 200] [--skip-emulators]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

import bench.noop_processor
from shared.bootstrap.embedded import EmbeddedRuntime
from shared.config.catalog import PipelineCatalog
from shared.config.settings import Settings
from shared.domain.quota import SubscriptionStatus
from shared.handlers.dispatch import RunRequest, dispatch_run
from shared.handlers.onboarding import create_org
from shared.handlers.services import Services
from shared.processors import PROCESSORS

REPO = Path(__file__).resolve().parents[1]
SHAPES = ("chain", "fanout")
DAY = date(2026, 10, 1)


@dataclass(frozen=True, slots=True)
class Result:
    runtime: str
    shape: str
    steps: int
    seconds: float

    @property
    def ms_per_step(self) -> float:
        return self.seconds * 1000 / self.steps


def pipeline(shape: str, steps: int) -> dict[str, Any]:
    names = [f"s{i:03d}" for i in range(steps)]
    body: list[dict[str, Any]] = []
    for i, name in enumerate(names):
        step: dict[str, Any] = {"step_id": name, "ps_type": bench.noop_processor.NOOP}
        if i and shape == "chain":
            step["depends_on"] = [names[i - 1]]
        elif i:
            step["depends_on"] = [names[0]]
        step["retry"] = {"max_attempts": 1}
        body.append(step)
    return {
        "pipeline_id": f"bench_{shape}_{steps}",
        "name": f"bench {shape} of {steps}",
        "provider": "subscription",
        "domain": "costs",
        "version": "1.0.0",
        "steps": body,
    }


def write_configs(root: Path, sizes: set[int]) -> Path:
    configs = root / "configs"
    shutil.copytree(REPO / "configs" / "system", configs / "system")
    for shape in SHAPES:
        for steps in sizes:
            body = pipeline(shape, steps)
            path = configs / "subscription" / "costs" / f"{body['pipeline_id']}.yml"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(yaml.safe_dump(body))
    return configs


def timed_run(
    services: Services, org_slug: str, shape: str, steps: int, wait: Callable[[str], str]
) -> float:
    org = services.store.get_org(org_slug)
    assert org is not None
    started = time.perf_counter()
    run = dispatch_run(
        services,
        org,
        RunRequest(org_slug, "subscription", "costs", f"bench_{shape}_{steps}", DAY, DAY),
    )
    status = wait(run.run_id)
    seconds = time.perf_counter() - started
    if status != "completed":
        raise RuntimeError(f"{shape} run {run.run_id} ended {status}")
    return seconds


def poll(services: Services, org_slug: str, interval: float) -> Callable[[str], str]:
    def wait(run_id: str) -> str:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            run = services.store.get_run(org_slug, run_id)
            if run is not None and run.status.terminal:
                return run.status.value
            time.sleep(interval)
        raise TimeoutError(f"run {run_id} did not finish in 600 s")

    return wait


def drained(runtime: EmbeddedRuntime, services: Services, org_slug: str) -> Callable[[str], str]:
    def wait(run_id: str) -> str:
        if not runtime.bus.drain(timeout=600):
            raise TimeoutError(f"run {run_id} did not finish in 600 s")
        run = services.store.get_run(org_slug, run_id)
        assert run is not None
        return run.status.value

    return wait


def bench_embedded(root: Path, configs: Path, steps: int) -> list[Result]:
    settings = Settings(home=root / "embedded", env="bench", project_id="bench", runtime="x")
    catalog = PipelineCatalog(configs, ps_types=PROCESSORS.keys())
    results = []
    with EmbeddedRuntime(settings, catalog=catalog) as runtime:
        services = runtime.services
        create_org(services, "bench", name="bench", plan="scale", status=SubscriptionStatus.ACTIVE)
        # The bus tells when all work is done: polling the store would compete with it.
        wait = drained(runtime, services, "bench")
        timed_run(services, "bench", "chain", 5, wait) if steps != 5 else None  # warm-up
        for shape in SHAPES:
            results.append(
                Result("embedded", shape, steps, timed_run(services, "bench", shape, steps, wait))
            )
    return results


def bench_emulators(root: Path, configs: Path, steps: int) -> list[Result]:
    from shared.bootstrap.cloud import PROCESSOR_MODULES_ENV, build_cloud_services
    from shared.devtools.stack import down, up

    home = root / "stack"
    home.mkdir()
    stack = up(
        home,
        "pipelines-bench",
        configs_dir=configs,
        extra_env={PROCESSOR_MODULES_ENV: "bench.noop_processor"},
    )
    try:
        os.environ.update(stack.env)
        services = build_cloud_services(Settings.from_env())
        create_org(services, "bench", name="bench", plan="scale", status=SubscriptionStatus.ACTIVE)
        wait = poll(services, "bench", 0.05)
        timed_run(services, "bench", "chain", 5, wait)  # warm-up: every function's cold start
        return [
            Result("emulators", shape, steps, timed_run(services, "bench", shape, steps, wait))
            for shape in SHAPES
        ]
    finally:
        down(home)


def measure_orchestration(
    steps: int = 200, emulator_steps: int = 200, *, emulators: bool = True
) -> list[Result]:
    """Time the chain and the fan-out, embedded and (if ``emulators``) on the topology.

    The environment variables this sets for the runtimes are put back afterwards.
    """
    saved = dict(os.environ)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-orch-") as tmp:
            root = Path(tmp)
            configs = write_configs(root, {steps, emulator_steps, 5})
            os.environ["PIPELINES_CONFIGS_DIR"] = str(configs)
            results = bench_embedded(root, configs, steps)
            if emulators:
                results += bench_emulators(root, configs, emulator_steps)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.orchestration")
    parser.add_argument("--steps", type=int, default=200, help="embedded pipeline size")
    parser.add_argument("--emulator-steps", type=int, default=200, help="topology size")
    parser.add_argument("--skip-emulators", action="store_true")
    args = parser.parse_args(argv)
    results = measure_orchestration(
        args.steps, args.emulator_steps, emulators=not args.skip_emulators
    )
    print(f"{'runtime':<10} {'shape':<7} {'steps':>5} {'seconds':>8} {'ms/step':>8}  target")
    for r in results:
        target = "<= 5" if r.runtime == "embedded" else "<= 60"
        print(
            f"{r.runtime:<10} {r.shape:<7} {r.steps:>5} {r.seconds:>8.2f} "
            f"{r.ms_per_step:>8.2f}  {target}"
        )
    by_key = {(r.runtime, r.shape): r for r in results}
    for shape in SHAPES:
        if ("emulators", shape) in by_key:
            ratio = by_key["emulators", shape].ms_per_step / by_key["embedded", shape].ms_per_step
            print(f"{shape}: emulator/embedded = {ratio:.1f}x (per step)")
    if not args.skip_emulators and args.emulator_steps != args.steps:
        print(f"note: the emulator topology ran {args.emulator_steps} steps, embedded {args.steps}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
