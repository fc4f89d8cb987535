"""Stored procedures and migrations in the org datasets (admin operations).

Which body is deployed: every org dataset keeps a small ``_procedure_versions`` table
(procedure, sha256 of the rendered SQL, source file, deployed_at). It lives in the dataset
rather than the state store because the record then lives and dies with what it describes
(a dropped or copied dataset takes its record along), the step runner that reuses the
check holds only the warehouse, and neither state-store adapter (SQLite, Firestore) needs a
new collection. Whether a procedure exists is read from INFORMATION_SCHEMA.ROUTINES, so
one dropped by hand is re-created whatever the record says.

Migrations are ``procedures/migrations/NNN_name.sql`` files, applied once per org dataset
and recorded in its ``_migrations`` table. A migration must itself be harmless to re-run
(UPDATE ... WHERE x IS NULL, CREATE OR REPLACE VIEW): BigQuery cannot put DDL and the
record in one transaction, so two operators racing may both apply it.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from shared.adapters.bigquery.sql_files import (
    PROCEDURES_DIR,
    declared_fragments,
    include_fragments,
    render_sql,
)
from shared.domain.errors import BadRequest, NotFound, PipelineError, shown
from shared.domain.sql import table_ref
from shared.handlers.services import Services
from shared.ports import Column, Warehouse

log = logging.getLogger(__name__)

VERSIONS_TABLE = "_procedure_versions"
MIGRATIONS_TABLE = "_migrations"
MIGRATIONS_DIR = PROCEDURES_DIR / "migrations"
OPS_DIR = PROCEDURES_DIR / "ops"

VERSIONS_COLUMNS: tuple[Column, ...] = (
    Column("procedure", "STRING", "REQUIRED"),
    Column("sha256", "STRING", "REQUIRED"),
    Column("source", "STRING", "REQUIRED"),
    Column("deployed_at", "TIMESTAMP", "REQUIRED"),
)
MIGRATIONS_COLUMNS: tuple[Column, ...] = (
    Column("migration", "STRING", "REQUIRED"),
    Column("sha256", "STRING", "REQUIRED"),
    Column("statements", "INT64", "REQUIRED"),
    Column("applied_at", "TIMESTAMP", "REQUIRED"),
)

# A procedure file declares exactly this header (its placeholders filled by render_sql),
# itself or through a fragment it includes; a fragment's header names the procedure
# {procedure}: the file that includes it (common/procedure_start.sql).
_HEADER = re.compile(
    r"^CREATE\s+OR\s+REPLACE\s+PROCEDURE\s+`\{project_id\}\.\{dataset\}`\."
    r"([A-Za-z_]\w*|\{procedure\})\s*\(",
    re.IGNORECASE | re.MULTILINE,
)
_NAMED_BY_FILE = "{procedure}"
_MIGRATION_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)$")

DeployStatus = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True, slots=True)
class ProcedureFile:
    name: str
    source: str  # path under procedures/
    # (placeholder, path under procedures/) of each fragment the file includes: its
    # "-- fragment" lines and those of the fragments they name (sql_files.declared_fragments)
    fragments: tuple[tuple[str, str], ...] = ()
    named_by_file: bool = False  # the header came from a fragment: {procedure} = name

    def render(self, project_id: str, dataset: str) -> str:
        identifiers = {"project_id": project_id, "dataset": dataset}
        if self.named_by_file:
            identifiers["procedure"] = self.name
        # the fragments come from the file's own "-- fragment" lines
        return render_sql(PROCEDURES_DIR / self.source, identifiers=identifiers)


def procedure_file(source: str) -> ProcedureFile:
    """The procedure a file under procedures/ creates (BadRequest if it creates none).

    Its header is its own, or comes from a fragment the file includes: then the procedure
    is named after the file (sp_x.sql creates sp_x). A file whose own header says
    {procedure} is a fragment, not a procedure.
    """
    path = PROCEDURES_DIR / source
    fragments = declared_fragments(path)
    own = _HEADER.findall(path.read_text(encoding="utf-8"))
    found = _HEADER.findall(include_fragments(path))
    if len(found) != 1 or _NAMED_BY_FILE in own:
        raise BadRequest(
            f"procedures/{source} must create exactly one procedure "
            "(CREATE OR REPLACE PROCEDURE `{project_id}.{dataset}`.name(...), or a "
            "fragment that does, named in a '-- fragment <placeholder>: <file>' line)",
            file=f"procedures/{source}",
        )
    named_by_file = found[0] == _NAMED_BY_FILE
    return ProcedureFile(
        name=path.stem if named_by_file else found[0],
        source=source,
        fragments=fragments,
        named_by_file=named_by_file,
    )


def procedure_files() -> list[ProcedureFile]:
    """Every procedure in procedures/ (plain scripts, migrations and ops SQL are not)."""
    found: list[ProcedureFile] = []
    for path in sorted(PROCEDURES_DIR.rglob("*.sql")):
        if MIGRATIONS_DIR in path.parents or OPS_DIR in path.parents:
            continue
        if _is_procedure(path):
            found.append(procedure_file(path.relative_to(PROCEDURES_DIR).as_posix()))
    names = [p.name for p in found]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise BadRequest(f"procedures/ defines {duplicates} more than once", file="procedures/")
    return found


def _is_procedure(path: Path) -> bool:
    """Whether the file creates a procedure: a header of its own with a name, or one from a
    fragment it includes (fragments themselves, and templates that procedure files include
    beside the signature, like cloud/sp_cloud_2_reconcile.sql, are not)."""
    own = _HEADER.findall(path.read_text(encoding="utf-8"))
    if own:
        return _NAMED_BY_FILE not in own
    return bool(declared_fragments(path)) and bool(_HEADER.search(include_fragments(path)))


def sha256(sql: str) -> str:
    return hashlib.sha256(sql.encode("utf-8")).hexdigest()


# -- what a dataset holds --------------------------------------------------------------
def recorded_versions(
    warehouse: Warehouse, dataset: str, procedure: str | None = None
) -> dict[str, dict[str, Any]]:
    """procedure -> its record row; {} for a dataset that never recorded one."""
    sql = f"SELECT procedure, sha256, source, deployed_at FROM {_ref(warehouse, dataset)}"
    params: dict[str, Any] = {}
    if procedure is not None:
        sql += " WHERE procedure = @procedure"
        params["procedure"] = procedure
    try:
        rows = warehouse.query(sql, params)
    except NotFound:  # the table comes with the first sync
        return {}
    return {row["procedure"]: row for row in rows}


def existing_routines(warehouse: Warehouse, dataset: str) -> set[str]:
    # table_ref validates the project and dataset; the view name is a constant.
    ref = table_ref(warehouse.project_id, dataset, "INFORMATION_SCHEMA")[:-1] + ".ROUTINES`"
    return {r["routine_name"] for r in warehouse.query(f"SELECT routine_name FROM {ref}")}


def deploy(warehouse: Warehouse, dataset: str, procedure: ProcedureFile, sql: str) -> None:
    """CREATE OR REPLACE the procedure, then record the body now deployed.

    A failed record is logged, not raised: the procedure is in place, and the worst a
    missing record costs is one more CREATE OR REPLACE next time (two runs deploying at
    once may collide on the record table on BigQuery).
    """
    warehouse.run_script(sql)
    try:
        _record_version(warehouse, dataset, procedure, sql)
    except PipelineError as exc:
        log.warning("deployed %s.%s but could not record it: %s", dataset, procedure.name, exc)


def _record_version(warehouse: Warehouse, dataset: str, procedure: ProcedureFile, sql: str) -> None:
    warehouse.ensure_table(dataset, VERSIONS_TABLE, VERSIONS_COLUMNS)
    warehouse.query(
        render_sql(
            OPS_DIR / "record_procedure_version.sql",
            identifiers={
                "project_id": warehouse.project_id,
                "dataset": dataset,
                "versions_table": VERSIONS_TABLE,
            },
            # literals, not @params: the emulator rejects parameters inside MERGE ... USING
            literals={
                "procedure": procedure.name,
                "sha256": sha256(sql),
                "source": procedure.source,
            },
        )
    )


def ensure_current(warehouse: Warehouse, dataset: str, procedure: ProcedureFile) -> bool:
    """Deploy the procedure unless the record says this very body is deployed.

    One query when nothing changed. Trusts the record; a caller that finds the routine
    missing anyway (dropped by hand) calls :func:`deploy`. Returns whether it deployed.
    """
    sql = procedure.render(warehouse.project_id, dataset)
    recorded = recorded_versions(warehouse, dataset, procedure.name).get(procedure.name)
    if recorded is not None and recorded["sha256"] == sha256(sql):
        return False
    deploy(warehouse, dataset, procedure, sql)
    return True


def call_current(
    warehouse: Warehouse,
    dataset: str,
    procedures: ProcedureFile | Sequence[ProcedureFile],
    statements: Sequence[str],
    log: Callable[[str], None],
) -> None:
    """Run ``statements`` (CALLs of ``procedures``, and any checks after them) as ONE
    transaction once each procedure is current (:func:`ensure_current`), telling ``log``
    what it does. The procedures replace slices with a DELETE then an INSERT, so a failure
    anywhere leaves the tables as they were. A procedure recorded as deployed but gone
    (dropped by hand) is deployed again when the script reports it missing, and the script
    runs once more: the failed transaction left nothing behind, so that is safe."""
    called = (procedures,) if isinstance(procedures, ProcedureFile) else tuple(procedures)
    script = "\n".join(("BEGIN TRANSACTION;", *statements, "COMMIT TRANSACTION;"))
    for procedure in called:
        if ensure_current(warehouse, dataset, procedure):
            log(f"deployed {dataset}.{procedure.name} from {procedure.source}")
        log(f"CALL {dataset}.{procedure.name}")
    for attempt in range(len(called) + 1):
        try:
            warehouse.run_script(script)
            return
        except NotFound as exc:
            # "Not found: routine:p.d.name" (emulator), "Not found: Routine p:d.name" (BigQuery):
            # one missing routine per error, so up to one more run per procedure
            message = exc.message.lower()
            missing = [p for p in called if "routine" in message and p.name.lower() in message]
            if not missing or attempt == len(called):
                raise
            for procedure in missing:
                log(f"{procedure.name} was missing; re-creating it")
                body = procedure.render(warehouse.project_id, dataset)
                deploy(warehouse, dataset, procedure, body)


# -- admin operations ------------------------------------------------------------------
def org_datasets(services: Services, org: str | None) -> list[tuple[str, str]]:
    """(org_slug, dataset) for one org (NotFound if unknown) or, with None, every org."""
    if org is not None:
        if not isinstance(org, str) or services.store.get_org(org) is None:
            raise NotFound(f"organization {shown(org, quote=False)} not found", field="org")
        slugs = [org]
    else:
        slugs = sorted(o.org_slug for o in services.store.list_orgs())
    return [(slug, services.settings.org_dataset(slug)) for slug in slugs]


def list_procedures(services: Services, org: str | None) -> dict[str, Any]:
    """Every procedure file; with an org, whether its dataset has it and whether current."""
    files = procedure_files()
    if org is None:
        return {"procedures": [{"name": p.name, "file": p.source} for p in files]}
    ((slug, dataset),) = org_datasets(services, org)
    warehouse = services.warehouse
    existing = existing_routines(warehouse, dataset)
    recorded = recorded_versions(warehouse, dataset)
    listed = []
    for p in files:
        record = recorded.get(p.name)
        exists = p.name in existing
        current = (
            exists
            and record is not None
            and record["sha256"] == sha256(p.render(warehouse.project_id, dataset))
        )
        listed.append(
            {
                "name": p.name,
                "file": p.source,
                "exists": exists,
                "current": current,
                "deployed_at": record["deployed_at"].isoformat() if record and exists else None,
            }
        )
    return {"org_slug": slug, "dataset": dataset, "procedures": listed}


def sync_procedures(services: Services, org: str | None) -> list[dict[str, Any]]:
    """Create or replace every procedure in each org dataset; created/updated/unchanged."""
    files = procedure_files()
    warehouse = services.warehouse
    report = []
    for slug, dataset in org_datasets(services, org):
        existing = existing_routines(warehouse, dataset)
        recorded = recorded_versions(warehouse, dataset)
        results = []
        for p in files:
            sql = p.render(warehouse.project_id, dataset)
            record = recorded.get(p.name)
            status: DeployStatus
            if p.name in existing and record is not None and record["sha256"] == sha256(sql):
                status = "unchanged"
            else:
                deploy(warehouse, dataset, p, sql)
                status = "updated" if p.name in existing else "created"
            results.append({"name": p.name, "file": p.source, "status": status})
        report.append({"org_slug": slug, "dataset": dataset, "procedures": results})
    return report


# -- migrations ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Migration:
    name: str  # the file's stem, NNN_name
    path: Path = field(repr=False)

    def render(self, project_id: str, dataset: str) -> str:
        return render_sql(self.path, identifiers={"project_id": project_id, "dataset": dataset})


def migrations() -> list[Migration]:
    found = []
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        if not _MIGRATION_NAME.fullmatch(path.stem):
            raise BadRequest(
                f"procedures/migrations/{path.name}: name must be NNN_name.sql",
                file=f"procedures/migrations/{path.name}",
            )
        found.append(Migration(path.stem, path))
    return found


def find_migration(name: str) -> Migration:
    """By its full name (001_x) or the part after the number (x)."""
    for migration in migrations():
        if name in (migration.name, migration.name.split("_", 1)[1]):
            return migration
    raise NotFound(
        f"migration {name} not found in procedures/migrations",
        field="name",
        available=[m.name for m in migrations()],
    )


def applied_migrations(warehouse: Warehouse, dataset: str) -> set[str]:
    ref = table_ref(warehouse.project_id, dataset, MIGRATIONS_TABLE)
    try:
        return {r["migration"] for r in warehouse.query(f"SELECT migration FROM {ref}")}
    except NotFound:  # the table comes with the first migration applied
        return set()


def run_migration(
    services: Services, name: str, *, org: str | None, dry_run: bool
) -> dict[str, Any]:
    """Apply a migration once to each org dataset; a dry run only renders and reads.

    An org whose apply fails is reported failed (with the warehouse's message) and the
    others still run: each dataset is independent, and a re-run picks up where it failed.
    """
    migration = find_migration(name)
    warehouse = services.warehouse
    orgs = []
    for slug, dataset in org_datasets(services, org):
        sql = migration.render(warehouse.project_id, dataset)
        statements = split_statements(sql)
        entry: dict[str, Any] = {"org_slug": slug, "dataset": dataset, "statements": statements}
        if migration.name in applied_migrations(warehouse, dataset):
            entry["status"] = "already_applied"
        elif dry_run:
            entry["status"] = "would_apply"
        else:
            try:
                warehouse.run_script(sql)
                warehouse.ensure_table(dataset, MIGRATIONS_TABLE, MIGRATIONS_COLUMNS)
                warehouse.query(
                    render_sql(
                        OPS_DIR / "record_migration.sql",
                        identifiers={
                            "project_id": warehouse.project_id,
                            "dataset": dataset,
                            "migrations_table": MIGRATIONS_TABLE,
                        },
                        literals={
                            "migration": migration.name,
                            "sha256": sha256(sql),
                            "statements": len(statements),
                        },
                    )
                )
                entry["status"] = "applied"
            except PipelineError as exc:
                entry["status"] = "failed"
                entry["error"] = exc.message
        orgs.append(entry)
    return {"migration": migration.name, "dry_run": dry_run, "orgs": orgs}


def split_statements(sql: str) -> list[str]:
    """The statements of a script: comments dropped, split on ``;`` outside quotes."""
    statements: list[str] = []
    current: list[str] = []
    quote: str | None = None
    i = 0
    while i < len(sql):
        char = sql[i]
        if quote is not None:
            current.append(char)
            if char == "\\" and i + 1 < len(sql):
                current.append(sql[i + 1])
                i += 1
            elif char == quote:
                quote = None
        elif char in "'\"`":
            quote = char
            current.append(char)
        elif sql.startswith("--", i) or char == "#":
            end = sql.find("\n", i)
            i = len(sql) if end < 0 else end
            continue
        elif char == ";":
            statements.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    statements.append("".join(current))
    return [_tidy(s) for s in statements if s.strip()]


def _tidy(statement: str) -> str:
    return "\n".join(line.rstrip() for line in statement.strip().splitlines() if line.strip())


def _ref(warehouse: Warehouse, dataset: str) -> str:
    return table_ref(warehouse.project_id, dataset, VERSIONS_TABLE)
