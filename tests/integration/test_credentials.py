"""Credentials end to end: encrypted at rest, org-bound, required at dispatch, CLI verbs."""

from __future__ import annotations

import io
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any, ClassVar

import pytest

from shared.bootstrap.embedded import EmbeddedRuntime
from shared.config.plans import plan_limits
from shared.domain.credentials import Secret, associated_data
from shared.domain.errors import BadRequest, NotFound, SecretBoxError
from shared.domain.models import Org
from shared.domain.quota import SubscriptionStatus
from shared.domain.states import RunStatus
from shared.entrypoints.cli.main import main
from shared.handlers.credentials import delete_credential, list_credentials, set_credential
from shared.handlers.dispatch import RunRequest, dispatch_run
from shared.processors.base import ProcessorConfig, StepContext, StepResult, register
from tests.support.runtime import new_org

PLANTED = "sk-admin-PLANTED-0123456789abcdef"


@register
class CredentialProbe:
    """Decrypts the run's credential inside the step and logs the object (masked)."""

    ps_type: ClassVar[str] = "test.credential_probe"
    Config: ClassVar[type[ProcessorConfig]] = ProcessorConfig
    seen: ClassVar[dict[str, tuple[str, str | None]]] = {}

    def run(self, ctx: StepContext) -> StepResult:
        credential = ctx.credential()
        self.seen[ctx.run.run_id] = (credential.api_key.reveal(), credential.base_url)
        ctx.log(f"using {credential}")  # a careless log line: must not leak the key
        return StepResult(rows_written=0)


def _pipeline(provider: str, domain: str) -> dict[str, Any]:
    return {
        "pipeline_id": "probe",
        "name": "probe",
        "provider": provider,
        "domain": domain,
        "version": "1.0.0",
        "steps": [{"step_id": "probe", "ps_type": "test.credential_probe"}],
    }


pytestmark = [
    pytest.mark.warehouse,
    pytest.mark.pipelines({"genai/payg/openai": _pipeline("genai", "payg")}),
]


def _request(slug: str) -> RunRequest:
    return RunRequest(slug, "genai", "payg", "openai", date(2026, 10, 1), date(2026, 10, 2))


def test_dispatch_refuses_without_credential_and_uses_it_inside_the_step(
    runtime: EmbeddedRuntime,
) -> None:
    services = runtime.services
    org, _ = new_org(runtime, "cred_org")
    with pytest.raises(BadRequest) as refused:
        dispatch_run(services, org, _request("cred_org"))
    assert refused.value.http_status == 400
    assert refused.value.message == "openai integration not active"  # the clients' wording
    assert services.store.list_runs("cred_org") == []  # nothing reserved or created

    info = set_credential(services, "cred_org", "openai", PLANTED, base_url="http://127.0.0.1:9/")
    assert info.metadata == {"base_url": "http://127.0.0.1:9"}
    run = dispatch_run(services, org, _request("cred_org"))
    assert run.credential_id == info.credential_id
    assert runtime.bus.drain(30)
    final = services.store.get_run("cred_org", run.run_id)
    assert final is not None
    assert final.status is RunStatus.COMPLETED
    assert CredentialProbe.seen[run.run_id] == (PLANTED, "http://127.0.0.1:9")

    # The key appears nowhere: logs, run record, the database file.
    logs = " ".join(e.message for e in services.store.list_logs("cred_org", run.run_id))
    assert "Secret('********')" in logs
    assert PLANTED not in logs
    assert PLANTED not in repr(final.to_public())
    db = (runtime.settings.home / "state.db").read_bytes()
    wal = runtime.settings.home / "state.db-wal"
    assert PLANTED.encode() not in db + (wal.read_bytes() if wal.exists() else b"")


def test_rotation_keeps_the_id_and_ciphertext_is_bound_to_org(runtime: EmbeddedRuntime) -> None:
    services = runtime.services
    new_org(runtime, "rot_org")
    new_org(runtime, "other_org")
    first = set_credential(services, "rot_org", "openai", "key-one")
    second = set_credential(services, "rot_org", "openai", "key-two")
    assert first.credential_id == second.credential_id
    stored = services.credentials.get("rot_org", "openai")
    assert stored is not None
    assert (
        services.secrets.decrypt(
            stored.ciphertext, associated_data=associated_data("rot_org", "openai")
        )
        == b"key-two"
    )
    # Copied to another org or provider, the ciphertext no longer decrypts.
    for org, provider in (("other_org", "openai"), ("rot_org", "anthropic")):
        with pytest.raises(SecretBoxError):
            services.secrets.decrypt(
                stored.ciphertext, associated_data=associated_data(org, provider)
            )
    assert [c.provider for c in list_credentials(services, "other_org")] == []
    delete_credential(services, "rot_org", "openai")
    with pytest.raises(NotFound):
        delete_credential(services, "rot_org", "openai")


def test_rotation_keeps_metadata_it_does_not_set(runtime: EmbeddedRuntime) -> None:
    services = runtime.services
    new_org(runtime, "meta_org")
    table = "billing-proj.billing_ds.gcp_billing_export_resource_v1_X"
    set_credential(services, "meta_org", "gcp", "key-one", billing_export_table=table)
    set_credential(services, "meta_org", "openai", "k1", base_url="https://proxy.example/v1")

    rotated = set_credential(services, "meta_org", "gcp", "key-two")
    assert rotated.metadata == {"billing_export_table": table}
    moved = set_credential(services, "meta_org", "openai", "k2", base_url="https://p2.example")
    assert moved.metadata == {"base_url": "https://p2.example"}
    cleared = set_credential(services, "meta_org", "openai", "k3", base_url="")
    assert cleared.metadata == {}


@pytest.mark.parametrize(
    ("provider", "key", "base_url", "message"),
    [
        ("nosuch", "k", None, "unknown provider"),
        ("subscription", "k", None, "takes no credential"),
        ("openai", "   ", None, "empty"),
        ("openai", "k", "ftp://host", "http(s) URL"),
        ("openai", "k", "http://user:pw@host", "user info"),
    ],
)
def test_bad_input_is_refused(
    runtime: EmbeddedRuntime, provider: str, key: str, base_url: str | None, message: str
) -> None:
    slug = f"bad_{abs(hash((provider, key, base_url))) % 10**8}"
    new_org(runtime, slug)
    with pytest.raises(BadRequest, match=message.replace("(", r"\(").replace(")", r"\)")):
        set_credential(runtime.services, slug, provider, key, base_url=base_url)
    assert list_credentials(runtime.services, slug) == []


def test_secret_never_prints_itself() -> None:
    secret = Secret(PLANTED)
    assert PLANTED not in f"{secret} {secret!r} {[secret]}"
    assert secret.reveal() == PLANTED


def test_cli_set_list_delete_never_echo_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PIPELINES_HOME", str(tmp_path))
    with EmbeddedRuntime() as rt:  # an org record only: no warehouse needed for credentials
        limits = plan_limits("scale")
        now = rt.services.clock.now()
        org = Org("cli_cred", "Cli", SubscriptionStatus.ACTIVE, "scale", limits, "x", now)
        rt.services.store.create_org(org)
    monkeypatch.setattr("sys.stdin", io.StringIO(PLANTED + "\n"))
    assert main(["credentials", "set", "cli_cred", "openai", "--api-key-stdin"]) == 0
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", PLANTED + "-2")
    code = main(
        [
            "credentials", "set", "cli_cred", "anthropic",
            "--api-key-env", "ANTHROPIC_ADMIN_KEY", "--base-url", "http://localhost:8080",
        ]
    )  # fmt: skip
    assert code == 0
    assert main(["credentials", "list", "cli_cred"]) == 0
    assert main(["credentials", "set", "cli_cred", "openai", "--api-key-env", "NOPE_UNSET"]) == 2
    assert main(["credentials", "delete", "cli_cred", "openai"]) == 0
    assert main(["credentials", "delete", "cli_cred", "openai"]) == 2
    out, err = capsys.readouterr()
    assert "stored openai credential openai_" in out
    assert "http://localhost:8080" in out
    assert "NOPE_UNSET is not set" in err
    assert "has no openai credential" in err
    assert PLANTED not in out + err
    with sqlite3.connect(tmp_path / "state.db") as conn:
        blobs = [bytes(r[0]) for r in conn.execute("SELECT ciphertext FROM credentials")]
    assert len(blobs) == 1
    assert PLANTED.encode() not in blobs[0]
