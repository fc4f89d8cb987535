"""Planted secrets never leave: not in logs, errors, run records or notifications.

Known unique secrets are planted (provider keys stored through the credentials handler and
the CLI, the orgs' API keys, the operator's root key, a Slack webhook URL), then the engine
is driven through runs that succeed and fail (a provider answering 401 with the key echoed
in its body; processors raising exceptions, failures and log lines that carry the key),
HTTP calls (good and bad keys, every read of the runs), the CLI, and notifications to a
real SMTP server and webhook. Every output is scanned for each secret and its obvious
encodings (base64, URL-encoding): Python logging of every logger at DEBUG, stdout/stderr
(capfd), HTTP bodies, the state store (run records, steps, transitions, logs, deliveries,
and the raw bytes of the SQLite files) and the notification payloads.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import sys
import urllib.parse
from contextlib import redirect_stderr, redirect_stdout
from datetime import date
from pathlib import Path
from typing import Any, ClassVar, Literal

import pytest

from shared.bootstrap.embedded import EmbeddedRuntime
from shared.config.catalog import CONFIGS_DIR_ENV
from shared.demo.genai_sample_server import SampleGenAIServer, Scripted
from shared.domain.errors import StepFailure
from shared.domain.states import RunStatus
from shared.entrypoints.cli.main import main
from shared.handlers.credentials import set_credential
from shared.processors.base import (
    ProcessorConfig,
    StepContext,
    StepResult,
    parse_config,
    register,
)
from tests.support.http import Answer, call_api
from tests.support.receivers import MailBox, Webhook
from tests.support.runtime import (
    RuntimeFactory,
    fast_pipeline,
    new_org,
    with_notifications,
    write_configs,
)

pytestmark = pytest.mark.warehouse

ORG, OTHER = "leak_acme", "leak_globex"
OPENAI_KEY = "sk-admin-LEAKTEST-openai-5f1c2a9b7d3e"
ANTHROPIC_KEY = "sk-ant-admin01-LEAKTEST-c0ffee77aa"
ROOT_KEY = "root-LEAKTEST-9d8c7b6a"
WEBHOOK_TOKEN = "B0LEAKTEST/xoxwebhooksecret42"
DAY = date(2026, 10, 1)
# Nothing is exempt, not even at rest: provider keys and the org's Slack webhook URL are both
# stored as SecretBox ciphertext, so the raw database files are scanned for them too.


class LeakConfig(ProcessorConfig):
    mode: Literal["raise", "fail", "log", "encoded"]


@register
class SecretLeaker:
    """A careless processor: puts the decrypted key into its exception, failure or log,
    or (``encoded``) its base64 (padded and urlsafe unpadded) into a log line and a failure."""

    ps_type: ClassVar[str] = "test.secret_leaker"
    Config: ClassVar[type[ProcessorConfig]] = LeakConfig

    def run(self, ctx: StepContext) -> StepResult:
        mode = parse_config(LeakConfig, ctx.config).mode
        key = ctx.credential().api_key.reveal()
        if mode == "raise":
            raise RuntimeError(f"provider rejected Authorization: Bearer {key}")
        if mode == "fail":
            raise StepFailure(f"HTTP 401: Incorrect API key provided: {key}", retryable=False)
        if mode == "encoded":
            raw = key.encode()
            ctx.log(f"Authorization: Basic {base64.b64encode(raw).decode()}")
            token = base64.urlsafe_b64encode(raw).decode().rstrip("=")
            raise StepFailure(f"HTTP 401 for token {token}", retryable=False)
        ctx.log(f"calling the provider with x-api-key={key}")
        return StepResult(rows_written=0, metrics={"header": f"x-api-key: {key}"})


LEAKY = {
    "pipeline_id": "leaky",
    "name": "leaky",
    "provider": "anthropic",
    "domain": "payg",
    "version": "1.0.0",
    "steps": [
        {"step_id": mode, "ps_type": "test.secret_leaker", "config": {"mode": mode}}
        for mode in ("raise", "fail", "log", "encoded")
    ],
}


def _encodings(secret: str) -> set[str]:
    raw = secret.encode()
    encoded = {base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()}
    encoded |= {e.rstrip("=") for e in encoded}
    encoded |= {urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)}
    return {secret} | encoded


class Outputs:
    """Every text the engine produced, by channel."""

    def __init__(self) -> None:
        self.channels: dict[str, list[str]] = {}

    def add(self, channel: str, text: str | bytes) -> None:
        if isinstance(text, bytes):
            text = text.decode("latin-1")
        self.channels.setdefault(channel, []).append(text)

    def leaks(self, secrets: dict[str, str]) -> list[str]:
        found = []
        for channel, texts in self.channels.items():
            blob = "\n".join(texts)
            for name, secret in secrets.items():
                for form in _encodings(secret):
                    if form in blob:
                        at = blob.index(form)
                        found.append(f"{name} in {channel}: ...{blob[max(0, at - 80) : at + 40]!r}")
        return found


class _Collect(logging.Handler):
    def __init__(self, outputs: Outputs) -> None:
        super().__init__(logging.DEBUG)
        self.outputs = outputs
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.outputs.add(f"logging:{record.name}", self.format(record))  # with tracebacks


PIPELINES = {
    "genai/payg/openai": fast_pipeline("genai/payg/openai", attempts=1, backoff=0),
    "anthropic/payg/leaky": LEAKY,
}


@pytest.fixture
def receivers(mail: tuple[MailBox, int], hook: Webhook) -> tuple[MailBox, int, Webhook]:
    return (*mail, hook)


@pytest.fixture
def configs(tmp_path: Path, mail: tuple[MailBox, int]) -> Path:
    """Every event that can carry a secret is routed to both channels."""
    routed = {"PIPELINE_SUCCESS": ["email", "slack"]}
    return with_notifications(write_configs(tmp_path, PIPELINES), mail[1], routed)


@pytest.fixture
def runtime(
    runtime_factory: RuntimeFactory,
    tmp_path: Path,
    configs: Path,
    session_warehouse: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> EmbeddedRuntime:
    home = tmp_path / "home"
    # the CLI builds its own runtime from the environment: the same home and configs
    for name, value in {
        "PIPELINES_HOME": str(home),
        "PIPELINES_ENV": "test",
        "PIPELINES_PROJECT_ID": session_warehouse.project_id,
        CONFIGS_DIR_ENV: str(configs),
        "PIPELINES_ROOT_KEY": ROOT_KEY,
    }.items():
        monkeypatch.setenv(name, value)
    return runtime_factory(home=home)


def _http(
    rt: EmbeddedRuntime, method: str, path: str, headers: dict[str, str], body: Any = None
) -> Answer:
    raw = json.dumps(body).encode() if body is not None else b""
    return call_api(rt.services, method, path, headers, body=raw)


def _cli(outputs: Outputs, argv: list[str], stdin: str = "") -> int:
    out, err = io.StringIO(), io.StringIO()
    old_stdin = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = main(argv)
    finally:
        sys.stdin = old_stdin
    outputs.add(f"cli:{' '.join(argv[:2])}", out.getvalue() + err.getvalue())
    return code


def test_planted_secrets_appear_in_no_output(
    runtime: EmbeddedRuntime,
    receivers: tuple[MailBox, int, Webhook],
    capfd: pytest.CaptureFixture[str],
) -> None:
    box, _, hook = receivers
    rt, outputs = runtime, Outputs()
    collector = _Collect(outputs)
    root_logger = logging.getLogger()
    old_level = root_logger.level
    root_logger.addHandler(collector)
    root_logger.setLevel(logging.DEBUG)
    try:
        with SampleGenAIServer(openai_key=OPENAI_KEY, anthropic_key=ANTHROPIC_KEY) as server:
            secrets = _drive(rt, outputs, server, hook)
        assert rt.notifier.flush(15)
    finally:
        root_logger.removeHandler(collector)
        root_logger.setLevel(old_level)

    # the notifications: what the SMTP server and the webhook received
    assert box.messages, "no email was sent: the notification channel was not exercised"
    assert hook.posts, "no webhook post: the notification channel was not exercised"
    for message in box.messages:
        outputs.add("email", message.as_string())
        for part in message.walk():  # decoded too: quoted-printable splits long lines
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                outputs.add("email", payload)
    for post in hook.posts:
        outputs.add("slack", json.dumps(post))
    # the store: every run record, step, transition, log line and delivery...
    store = rt.services.store
    for run in store.list_runs(ORG, limit=50):
        outputs.add("store:run", json.dumps(run.to_public(), default=str))
        for t in store.list_transitions(ORG, run.run_id):
            outputs.add("store:transitions", f"{t.reason} {t.from_status} {t.to_status}")
        for e in store.list_logs(ORG, run.run_id):
            outputs.add("store:logs", e.message)
    for d in rt.notifier.store.list_deliveries(ORG, limit=100):
        outputs.add("store:deliveries", json.dumps(d.to_public(), default=str))
    # ...and the raw bytes of every SQLite file under the home (WAL included)
    for path in sorted(rt.settings.home.glob("*.db*")):
        outputs.add(f"file:{path.name}", path.read_bytes())
    captured = capfd.readouterr()
    outputs.add("stdout", captured.out)
    outputs.add("stderr", captured.err)

    assert {"email", "slack", "store:logs", "stdout"} <= set(outputs.channels)
    assert any(c.startswith("logging:") for c in outputs.channels)
    assert any(c.startswith("http:") for c in outputs.channels)
    assert any(c.startswith("cli:") for c in outputs.channels)
    assert not outputs.leaks(secrets), "\n".join(outputs.leaks(secrets))


def _drive(
    rt: EmbeddedRuntime, outputs: Outputs, server: SampleGenAIServer, hook: Webhook
) -> dict[str, str]:
    services = rt.services
    _, key = new_org(rt, ORG)
    _, other_key = new_org(rt, OTHER)
    set_credential(services, ORG, "openai", OPENAI_KEY, base_url=server.openai_base_url)
    # the Anthropic key goes in through the CLI, read from stdin
    assert (
        _cli(
            outputs,
            ["credentials", "set", ORG, "anthropic", "--api-key-stdin"],
            stdin=ANTHROPIC_KEY + "\n",
        )
        == 0
    )
    webhook = f"{hook.url}/{WEBHOOK_TOKEN}"
    secrets = {
        "openai key": OPENAI_KEY,
        "anthropic key": ANTHROPIC_KEY,
        f"{ORG} API key": key,
        f"{OTHER} API key": other_key,
        "root key": ROOT_KEY,
        "slack webhook": WEBHOOK_TOKEN,
    }
    own = {"x-api-key": key}

    def http(
        channel: str, method: str, path: str, headers: dict[str, str], body: Any = None
    ) -> Answer:
        response = _http(rt, method, path, headers, body)
        outputs.add(f"http:{channel}", response.text())
        return response

    settings = http(
        "settings",
        "PUT",
        f"/api/v1/notifications/{ORG}/settings",
        own,
        {"email": {"to": ["ops@leak.test"]}, "slack": {"webhook_url": webhook}},
    )
    assert settings.status == 200, settings.body
    # A provider that answers 401 and echoes the key it was sent
    server.script(
        "/v1/organization/usage/completions",
        [Scripted(401, {"error": {"message": f"Incorrect API key provided: {OPENAI_KEY}"}})],
    )
    runs = {}
    for pipeline in ("genai/payg/openai", "anthropic/payg/leaky"):
        started = http(
            "run", "POST", f"/api/v1/pipelines/run/{ORG}/{pipeline}", own, {"date": DAY.isoformat()}
        )
        assert started.status == 202, started.body
        runs[pipeline] = started.body["run_id"]
    assert rt.bus.drain(60)
    for run_id in runs.values():
        status = http("status", "GET", f"/api/v1/pipelines/status/{ORG}/{run_id}", own)
        assert status.body["status"] == RunStatus.FAILED.value, status.body
        for tail in ("", "/steps", "/transitions", "/download"):
            assert (
                http("logs", "GET", f"/api/v1/pipelines/logs/{ORG}/{run_id}{tail}", own).status
                == 200
            )
        assert _cli(outputs, ["status", ORG, run_id]) == 0
        assert _cli(outputs, ["logs", ORG, run_id]) == 0
        assert _cli(outputs, ["logs", ORG, run_id, "--steps"]) == 0
        assert _cli(outputs, ["logs", ORG, run_id, "--transitions"]) == 0
    leaky = services.store.get_run(ORG, runs["anthropic/payg/leaky"])
    assert leaky is not None
    assert leaky.steps["log"].status.value == "succeeded"
    # what the steps said is kept, with the key cut out at the runner's boundary
    assert leaky.steps["raise"].error == "RuntimeError: provider rejected Authorization: Bearer ***"
    assert leaky.steps["fail"].error == "HTTP 401: Incorrect API key provided: ***"
    assert leaky.steps["log"].metrics == {"header": "x-api-key: ***"}
    # ...and so is its base64
    assert leaky.steps["encoded"].error == "HTTP 401 for token ***"
    said = [e.message for e in services.store.list_logs(ORG, leaky.run_id)]
    assert "Authorization: Basic ***" in said, said
    # bad and foreign keys, the root key, and error paths
    for headers in ({"x-api-key": other_key}, {"x-api-key": key + "x"}, {}):
        refused = http("refused", "GET", f"/api/v1/pipelines/history/{ORG}", headers)
        assert refused.status == 401
    assert (
        http("admin", "GET", "/api/v1/scheduler/queue", {"x-ca-root-key": ROOT_KEY}).status == 200
    )
    assert (
        http("admin", "GET", "/api/v1/scheduler/queue", {"x-ca-root-key": ROOT_KEY + "x"}).status
        == 401
    )
    assert http("settings", "GET", f"/api/v1/notifications/{ORG}/settings", own).status == 200
    assert http("deliveries", "GET", f"/api/v1/notifications/{ORG}/deliveries", own).status == 200
    assert http("runs", "GET", "/api/v1/pipelines/runs", own).status == 200
    for argv in (["history", ORG], ["credentials", "list", ORG], ["notifications", "history", ORG]):
        assert _cli(outputs, argv) == 0, argv
    return secrets


def test_the_scan_finds_raw_and_encoded_forms() -> None:
    """The scan is not vacuous: each form of a secret is found, and only where it is."""
    secret = "sk-scan-check/+=1"
    forms = {
        "raw": f"key={secret}",
        "base64": f"Authorization: Basic {base64.b64encode(secret.encode()).decode()}",
        "base64url": base64.urlsafe_b64encode(secret.encode()).decode().rstrip("="),
        "url": f"https://x.test/?k={urllib.parse.quote(secret, safe='')}",
        "form": f"k={urllib.parse.quote_plus(secret)}",
    }
    for channel, text in forms.items():
        outputs = Outputs()
        outputs.add(channel, text)
        outputs.add("clean", "nothing here")
        found = outputs.leaks({"planted": secret})
        assert found, channel
        assert all(f.startswith(f"planted in {channel}:") for f in found)
    at_rest = Outputs()
    at_rest.add("file:state.db", f"...{WEBHOOK_TOKEN}...".encode())
    assert at_rest.leaks({"slack webhook": WEBHOOK_TOKEN})  # no secret is exempt at rest
