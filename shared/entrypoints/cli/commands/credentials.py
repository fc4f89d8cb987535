"""``pipelines credentials``: store, list and delete an org's provider API keys.

The key is read from stdin or from a named environment variable, never from an argument:
arguments land in shell history and in ``ps`` output.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any

from shared.bootstrap.embedded import EmbeddedRuntime
from shared.domain.errors import BadRequest
from shared.entrypoints.cli.console import print_table
from shared.handlers.credentials import delete_credential, list_credentials, set_credential


def register(sub: Any) -> None:
    area = sub.add_parser("credentials", help="manage an org's provider credentials")
    actions = area.add_subparsers(required=True, metavar="ACTION")

    p = actions.add_parser("set", help="store (or rotate) an org's API key for a provider")
    p.add_argument("org")
    p.add_argument("provider")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--api-key-stdin", action="store_true", help="read the key from stdin")
    source.add_argument("--api-key-env", metavar="VAR", help="read the key from this variable")
    p.add_argument(
        "--base-url",
        help="API base URL (enterprise proxy or a local server); kept on rotation, '' clears",
    )
    p.add_argument(
        "--billing-export-table",
        metavar="PROJECT.DATASET.TABLE",
        help="gcp: the org's Cloud Billing export table (run parameters can still override); "
        "kept on rotation, '' clears",
    )
    p.set_defaults(func=cmd_set)

    p = actions.add_parser("list", help="list an org's credentials (never their keys)")
    p.add_argument("org")
    p.set_defaults(func=cmd_list)

    p = actions.add_parser("delete", help="delete an org's credential for a provider")
    p.add_argument("org")
    p.add_argument("provider")
    p.set_defaults(func=cmd_delete)


def read_api_key(args: argparse.Namespace) -> str:
    if args.api_key_env:
        value = os.environ.get(args.api_key_env)
        if not value:
            raise BadRequest(f"environment variable {args.api_key_env} is not set or empty")
        return value
    if sys.stdin.isatty():
        return getpass.getpass("API key (not echoed): ")
    return sys.stdin.readline()


def cmd_set(args: argparse.Namespace) -> int:
    api_key = read_api_key(args)
    with EmbeddedRuntime() as runtime:
        info = set_credential(
            runtime.services,
            args.org,
            args.provider,
            api_key,
            base_url=args.base_url,
            billing_export_table=args.billing_export_table,
        )
    where = f" at {info.metadata['base_url']}" if "base_url" in info.metadata else ""
    if "billing_export_table" in info.metadata:
        where += f" (billing export {info.metadata['billing_export_table']})"
    print(f"stored {info.provider} credential {info.credential_id} for {info.org_slug}{where}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    with EmbeddedRuntime() as runtime:
        rows = [
            {
                "provider": c.provider,
                "credential_id": c.credential_id,
                "base_url": c.metadata.get("base_url", ""),
                "billing_export_table": c.metadata.get("billing_export_table", ""),
                "updated_at": c.updated_at.isoformat(timespec="seconds"),
            }
            for c in list_credentials(runtime.services, args.org)
        ]
    columns = ["provider", "credential_id", "base_url", "billing_export_table", "updated_at"]
    print_table(rows, columns)
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    with EmbeddedRuntime() as runtime:
        delete_credential(runtime.services, args.org, args.provider)
    print(f"deleted {args.provider} credential of {args.org}")
    return 0
