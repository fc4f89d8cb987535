"""Which documented layout a billing file is in, told from its header, and how its columns
become the raw table's.

A provider ships the same data under several layouts over the years (AWS: legacy CUR with
``lineItem/UsageStartDate`` names in CSV, the same in Athena's lower_snake names in
Parquet, CUR 2.0 with map columns). Each :class:`SchemaVariant` says how to recognise
its header and where each of its columns goes: a column of ours, or a key of one of our
JSON map columns (tags, product attributes). A header no variant accepts is refused,
naming the variants accepted and the required columns it lacks, never read as nulls.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

# Where a file column goes: (our column, None) or (our map column, key in it).
Target = tuple[str, str | None]


class UnknownSchema(ValueError):
    """The header matches no accepted variant; the message says what it lacks."""


@dataclass(frozen=True, slots=True)
class SchemaVariant:
    name: str
    target: Callable[[str], Target | None]  # a file column -> where it goes (None: unused)
    required: tuple[str, ...]  # our columns a file of this variant must provide
    # Told apart from variants that map the same columns (None: any header it maps).
    recognise: Callable[[Sequence[str]], bool] | None = None
    # Values the layout implies for columns it does not carry (a usage-only export's
    # ChargeType); a file column of that name still wins.
    constants: Mapping[str, str] = field(default_factory=dict)
    # How the layout's files spell our required columns, for the error naming what lacks.
    spelling: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ColumnPlan:
    variant: str
    targets: Mapping[str, Target]  # file column -> where it goes, in header order
    constants: Mapping[str, str] = field(default_factory=dict)

    @property
    def file_columns(self) -> list[str]:
        return list(self.targets)


def plan_columns(
    header: Sequence[str], variants: Sequence[SchemaVariant], *, provider: str
) -> ColumnPlan:
    """The first variant that recognises ``header`` and finds every required column."""
    closest: tuple[int, SchemaVariant, list[str]] | None = None
    for variant in variants:
        if variant.recognise is not None and not variant.recognise(header):
            continue
        targets = {c: t for c in header if (t := variant.target(c)) is not None}
        provided = {column for column, key in targets.values() if key is None}
        missing = [variant.spelling.get(c, c) for c in variant.required if c not in provided]
        if not missing:
            return ColumnPlan(variant.name, targets, variant.constants)
        if closest is None or len(missing) < closest[0]:
            closest = (len(missing), variant, missing)
    accepted = "; ".join(v.name for v in variants)
    lacks = (
        f"; closest: {closest[1].name}, which lacks {', '.join(closest[2])}"
        if closest is not None
        else ""
    )
    raise UnknownSchema(
        f"columns match no {provider} billing layout this service reads (accepted: "
        f"{accepted}){lacks}"
    )


def named(names: Iterable[str]) -> Callable[[str], Target | None]:
    """The target of a layout whose file columns carry our own names (those in ``names``)."""
    own = frozenset(names)
    return lambda column: (column, None) if column in own else None


def snake(name: str) -> str:
    """AWS's CUR 2.0 spelling of a legacy name part: every capital starts a word
    ('UsageStartDate' -> 'usage_start_date', 'ReservationARN' -> 'reservation_a_r_n')."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


# -- AWS ---------------------------------------------------------------------------------
# Legacy (group, name) of the CUR 2.0 columns a file must have, for naming what it lacks.
_AWS_SLASH = {
    "line_item_usage_start_date": ("lineItem", "UsageStartDate"),
    "line_item_line_item_type": ("lineItem", "LineItemType"),
    "line_item_unblended_cost": ("lineItem", "UnblendedCost"),
    "line_item_currency_code": ("lineItem", "CurrencyCode"),
}


def aws_variants(columns: Sequence[str], required: tuple[str, ...]) -> tuple[SchemaVariant, ...]:
    """CUR 2.0, legacy CUR in Athena's lower_snake names (Parquet), legacy CUR with
    ``category/Name`` names (CSV, gzip CSV). Legacy product attributes that are not CUR 2.0
    columns go into the ``product`` map under their CUR 2.0 keys (``product/ProductName``
    -> ``product_name``), and ``resourceTags/user:team`` (or ``resource_tags_user_team``)
    into ``resource_tags`` as ``user_team``, as CUR 2.0 delivers them."""
    own = set(columns)
    cur2 = named(own)

    def athena(column: str) -> Target | None:
        if column in own:
            return (column, None)
        if column.startswith("resource_tags_"):
            return ("resource_tags", column.removeprefix("resource_tags_"))
        if column.startswith("product_"):
            return ("product", column.removeprefix("product_"))
        return None

    def slash(column: str) -> Target | None:
        group, _, field = column.partition("/")
        if not field:
            return None
        if group == "resourceTags":
            return ("resource_tags", field.replace(":", "_"))
        ours = f"{snake(group)}_{snake(field)}"
        if ours in own:
            return (ours, None)
        if group == "product":
            return ("product", snake(field))
        return None

    def is_cur2(header: Sequence[str]) -> bool:
        return "resource_tags" in header or "product" in header

    return (
        SchemaVariant("AWS CUR 2.0 (Data Exports)", cur2, required, recognise=is_cur2),
        SchemaVariant("AWS legacy CUR, Athena column names (Parquet)", athena, required),
        SchemaVariant(
            "AWS legacy CUR, category/Name column names (CSV)",
            slash,
            required,
            spelling={ours: f"{group}/{name}" for ours, (group, name) in _AWS_SLASH.items()},
        ),
    )


# -- Azure -------------------------------------------------------------------------------
# The version-1 usage export (pay-as-you-go and EA, before cost details): its names -> ours.
# It held usage charges only, priced and billed in one currency (Currency).
AZURE_V1_NAMES = {
    "UsageDateTime": "Date",
    "PreTaxCost": "CostInBillingCurrency",
    "Currency": "BillingCurrency",
    "UsageQuantity": "Quantity",
    "Quantity": "Quantity",
    "ResourceRate": "EffectivePrice",
    "InstanceId": "ResourceId",
    "SubscriptionGuid": "SubscriptionId",
    "SubscriptionName": "SubscriptionName",
    "ResourceGroup": "ResourceGroup",
    "ResourceLocation": "ResourceLocation",
    "ProductName": "ProductName",
    "Product": "ProductName",
    "MeterCategory": "MeterCategory",
    "MeterSubcategory": "MeterSubCategory",
    "MeterName": "MeterName",
    "MeterId": "MeterId",
    "UnitOfMeasure": "UnitOfMeasure",
    "ConsumedService": "ConsumedService",
    "Tags": "Tags",
}


def azure_variants(
    columns: Sequence[str], aliases: Mapping[str, str], required: tuple[str, ...]
) -> tuple[SchemaVariant, ...]:
    """Cost details (EA and MCA, actual and amortized; EA names through ``aliases``) and the
    version-1 usage export, each in PascalCase or camelCase: Cost Management has written
    both casings, so names match whatever their case."""

    def folded(names: Mapping[str, str]) -> Callable[[str], Target | None]:
        lookup = {name.lower(): ours for name, ours in names.items()}
        return lambda column: (ours, None) if (ours := lookup.get(column.lower())) else None

    cost_details = folded({**{c: c for c in columns}, **aliases})
    usage_v1 = folded(AZURE_V1_NAMES)
    variants = []
    for casing, is_casing in (("PascalCase", _pascal), ("camelCase", _camel)):
        variants += [
            SchemaVariant(
                f"Azure cost details (EA/MCA), {casing}", cost_details, required, is_casing
            ),
            SchemaVariant(
                f"Azure usage export version 1, {casing}",
                usage_v1,
                required,
                is_casing,
                constants={"ChargeType": "Usage"},
                spelling=_v1_spelling(casing == "camelCase"),
            ),
        ]
    return tuple(variants)


def _v1_spelling(camel: bool) -> dict[str, str]:
    spelled = {
        "Date": "UsageDateTime",
        "CostInBillingCurrency": "PreTaxCost",
        "BillingCurrency": "Currency",
    }
    return {k: v[0].lower() + v[1:] if camel else v for k, v in spelled.items()}


def _camel(header: Sequence[str]) -> bool:
    return sum(name[:1].islower() for name in header) * 2 > len(header)


def _pascal(header: Sequence[str]) -> bool:
    return not _camel(header)


# -- FOCUS exports -----------------------------------------------------------------------
def focus_variants(
    columns: Sequence[str], added_in: Mapping[str, Sequence[str]], required: tuple[str, ...]
) -> tuple[SchemaVariant, ...]:
    """A provider's FOCUS export, its version told by the newest version whose added columns
    it has (``added_in``: version -> the columns it added, the first version adding none);
    names are FOCUS's own."""
    target = named(columns)

    def of_version(added: set[str], later: set[str]) -> Callable[[Sequence[str]], bool]:
        return lambda header: not later & set(header) and (not added or bool(added & set(header)))

    versions = sorted(added_in)
    return tuple(
        SchemaVariant(
            f"FOCUS {version} export",
            target,
            required,
            of_version(
                set(added_in[version]),
                {c for later in versions[i + 1 :] for c in added_in[later]},
            ),
        )
        for i, version in reversed(list(enumerate(versions)))
    )


# -- GCP ---------------------------------------------------------------------------------
def gcp_variants(
    standard: Sequence[str], detailed_only: Sequence[str], required: tuple[str, ...]
) -> tuple[SchemaVariant, ...]:
    """The detailed and standard Cloud Billing export tables as files (``bq extract``):
    top-level column names as the tables have them; the detailed one has the resource and
    price records besides."""

    def is_detailed(header: Sequence[str]) -> bool:
        return bool(set(detailed_only) & set(header))

    return (
        SchemaVariant(
            "GCP detailed usage cost export",
            named([*standard, *detailed_only]),
            required,
            is_detailed,
        ),
        SchemaVariant(
            "GCP standard usage cost export",
            named(standard),
            required,
            lambda header: not is_detailed(header),
        ),
    )
