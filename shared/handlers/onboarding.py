"""Creating an organisation: its record, its API key, its dataset and tables."""

from __future__ import annotations

from shared.config.plans import plan_limits
from shared.config.tables import ORG_TABLES
from shared.domain.api_keys import hash_api_key, new_api_key
from shared.domain.errors import Conflict
from shared.domain.models import Org
from shared.domain.quota import SubscriptionStatus
from shared.domain.sql import validate_org_slug
from shared.handlers.services import Services


def create_org(
    services: Services, org_slug: str, *, name: str, plan: str, status: SubscriptionStatus
) -> tuple[Org, str]:
    """Returns the org and its API key: the only time the key exists in clear."""
    validate_org_slug(org_slug)
    if services.store.get_org(org_slug) is not None:
        raise Conflict(f"organization {org_slug} already exists")
    api_key = new_api_key(org_slug)
    org = Org(
        org_slug=org_slug,
        name=name,
        status=status,
        plan=plan,
        limits=plan_limits(plan),
        api_key_hash=hash_api_key(api_key),
        created_at=services.clock.now(),
    )
    ensure_org_dataset(services, org_slug)
    services.store.create_org(org)
    return org, api_key


def ensure_org_dataset(services: Services, org_slug: str) -> str:
    """The org's dataset and every table the pipelines write to (idempotent)."""
    dataset = services.settings.org_dataset(org_slug)
    services.warehouse.ensure_dataset(dataset)
    for table, columns in ORG_TABLES.items():
        services.warehouse.ensure_table(dataset, table, columns)
    return dataset
