"""The GenAI half of ``make run``: sample OpenAI and Anthropic data from a local server.

Starts :class:`~shared.demo.genai_sample_server.SampleGenAIServer` (SAMPLE DATA, synthetic),
stores sample admin keys for the demo org pointing at it (``base_url``), and runs the real
OpenAI and Anthropic pipelines for the month, exactly as against the providers' APIs.
"""

from __future__ import annotations

from datetime import date

from shared.demo.genai_sample_server import SAMPLE_LABEL, SampleGenAIServer
from shared.entrypoints.cli.follow import run_and_wait
from shared.handlers.credentials import set_credential
from shared.handlers.services import Services

# Not secrets: keys that only the local sample server accepts.
SAMPLE_OPENAI_KEY = "sample-openai-admin-key"
SAMPLE_ANTHROPIC_KEY = "sample-anthropic-admin-key"


def ingest_sample_genai(services: Services, org_slug: str, start: date, end: date) -> int:
    """Runs both pipelines; returns 0 if both completed."""
    with SampleGenAIServer(
        openai_key=SAMPLE_OPENAI_KEY, anthropic_key=SAMPLE_ANTHROPIC_KEY
    ) as server:
        print(f"\nGenAI: local sample server at {server.url} - {SAMPLE_LABEL}")
        set_credential(
            services, org_slug, "openai", SAMPLE_OPENAI_KEY, base_url=server.openai_base_url
        )
        set_credential(
            services,
            org_slug,
            "anthropic",
            SAMPLE_ANTHROPIC_KEY,
            base_url=server.anthropic_base_url,
        )
        status = 0
        for vendor in ("openai", "anthropic"):
            code = run_and_wait(
                services, org_slug, "genai", "payg", vendor, start, end, {}, trigger="demo"
            )
            status = status or code
        return status
