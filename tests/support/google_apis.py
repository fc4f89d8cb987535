"""A local server in Google's documented API shapes, for ``gcp.api_extractor``:

- ``POST /token``: the OAuth 2.0 JWT-bearer grant a service-account key's ``token_uri``
  names; the assertion is verified against the key's public half (google-auth signs it);
- ``GET /v1/services/{id}/skus``: Cloud Billing Catalog (cloud.google.com/billing/docs/
  reference/rest/v1/services.skus/list), Money prices, ``nextPageToken`` paging;
- ``GET /v1/projects/{p}/locations/{l}/recommenders/{r}/recommendations``: Recommender
  (cloud.google.com/recommender/docs/reference/rest/v1/projects.locations.recommenders.
  recommendations/list).

Both APIs want ``Authorization: Bearer`` of a token this server issued.
"""

from __future__ import annotations

import json
import secrets
from decimal import Decimal
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import jwt

from shared.demo.genai_sample_server import SampleGenAIServer

SKUS = (  # sku id, description, family, usage unit, USD per unit
    ("0013-863C-A2FF", "E2 Instance Core running in Americas", "Compute", "h", Decimal("0.021811")),
    (
        "0049-5E8F-4D79",
        "E2 Instance Ram running in Americas",
        "Compute",
        "GiBy.h",
        Decimal("0.002923"),
    ),
    ("00AE-3E14-7F6B", "Storage PD Capacity", "Storage", "GiBy.mo", Decimal("0.04")),
    ("0104-1B05-9E53", "Network Internet Egress to Americas", "Network", "GiBy", Decimal("0.12")),
    ("02A0-8C1B-58A4", "Licensing Fee for Windows Server", "License", "h", Decimal("0.046")),
)
# google-auth signs every service-account assertion for Google's own token endpoint,
# whatever the key's token_uri: the audience a real token endpoint checks.
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
RECOMMENDATIONS = (  # id, subtype, USD per 30 days (negative: a saving)
    ("r-idle-vm-1", "STOP_VM", Decimal("-43.67")),
    ("r-idle-vm-2", "STOP_VM", Decimal("-12.05")),
    ("r-idle-disk", "DELETE_DISK", Decimal("-4.8")),
)


def money(amount: Decimal, currency: str = "USD") -> dict[str, Any]:
    """Google's Money: whole units as a string, nanos with the same sign."""
    units = int(amount)
    return {
        "currencyCode": currency,
        "units": str(units),
        "nanos": int((amount - units) * 1_000_000_000),
    }


def service_account_key(token_uri: str) -> tuple[dict[str, Any], bytes]:
    """A fresh service-account key (as Google issues them) and its public key PEM."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    key = {
        "type": "service_account",
        "project_id": "acme-billing",
        "private_key_id": secrets.token_hex(20),
        "private_key": pem,
        "client_email": "pipelines@acme-billing.iam.gserviceaccount.com",
        "client_id": "1" * 21,
        "token_uri": token_uri,
    }
    return key, public


class GoogleApiServer(SampleGenAIServer):
    """The token endpoint and the two APIs above, on 127.0.0.1; page size 2."""

    def __init__(self, public_key: bytes | None = None) -> None:
        super().__init__(openai_key="-", anthropic_key="-")
        self.public_key = public_key  # set once the key (which names our URL) exists
        self.tokens: set[str] = set()
        self.grants: list[dict[str, Any]] = []  # the verified JWT claims, per token request

    @property
    def token_uri(self) -> str:
        return f"{self.url}/token"

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        base: Any = super()._handler_class()
        server = self

        class Handler(base):  # type: ignore[misc]
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                status, body = server._token(form)
                self._send(status, body, {})

        return Handler

    def _token(self, form: dict[str, list[str]]) -> tuple[int, Any]:
        if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"]:
            return 400, {"error": "unsupported_grant_type"}
        try:
            claims = jwt.decode(
                form["assertion"][0], certs=self.public_key, audience=GOOGLE_TOKEN_AUDIENCE
            )
        except (KeyError, ValueError) as exc:
            return 400, {"error": "invalid_grant", "error_description": str(exc)[:100]}
        self.grants.append(claims)
        token = f"ya29.test-{secrets.token_hex(8)}"
        self.tokens.add(token)
        return 200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}

    def _answer(self, path: str, query: dict[str, list[str]], headers: Any) -> tuple[int, Any]:
        bearer = (headers.get("Authorization") or "").removeprefix("Bearer ")
        if bearer not in self.tokens:
            error = {"code": 401, "message": "Request had invalid authentication credentials."}
            return 401, {"error": {**error, "status": "UNAUTHENTICATED"}}
        token = (query.get("pageToken") or ["0"])[0]
        size = min(int((query.get("pageSize") or ["2"])[0]), 2)
        first = int(token)
        if path.startswith("/v1/services/") and path.endswith("/skus"):
            currency = (query.get("currencyCode") or ["USD"])[0]
            items, name = [self._sku(path, s, currency) for s in SKUS], "skus"
        elif "/recommenders/" in path and path.endswith("/recommendations"):
            items, name = (
                [self._recommendation(path, r) for r in RECOMMENDATIONS],
                "recommendations",
            )
        else:
            return 404, {"error": {"code": 404, "message": "not found", "status": "NOT_FOUND"}}
        following = first + size
        return 200, {
            name: items[first:following],
            "nextPageToken": str(following) if following < len(items) else "",
        }

    @staticmethod
    def _sku(path: str, sku: tuple[str, str, str, str, Decimal], currency: str) -> dict[str, Any]:
        sku_id, description, family, unit, price = sku
        return {
            "name": f"{path.removeprefix('/v1/')}/{sku_id}",
            "skuId": sku_id,
            "description": description,
            "category": {
                "serviceDisplayName": "Compute Engine",
                "resourceFamily": family,
                "resourceGroup": "E2" if family == "Compute" else family,
                "usageType": "OnDemand",
            },
            "serviceRegions": ["us-central1", "us-east1"],
            "pricingInfo": [
                {
                    "summary": "",
                    "pricingExpression": {
                        "usageUnit": unit,
                        "displayQuantity": 1,
                        "tieredRates": [
                            {"startUsageAmount": 0, "unitPrice": money(price, currency)},
                            {"startUsageAmount": 1000, "unitPrice": money(price / 2, currency)},
                        ],
                        "usageUnitDescription": unit,
                        "baseUnit": unit,
                        "baseUnitConversionFactor": 1,
                    },
                    "currencyConversionRate": 1,
                    "effectiveTime": "2026-12-06T10:21:05.123Z",
                }
            ],
            "serviceProviderName": "Google",
        }

    @staticmethod
    def _recommendation(path: str, rec: tuple[str, str, Decimal]) -> dict[str, Any]:
        rec_id, subtype, cost = rec
        return {
            "name": f"{path.removeprefix('/v1/')}/{rec_id}",
            "description": f"Save cost: {subtype.lower().replace('_', ' ')}.",
            "recommenderSubtype": subtype,
            "lastRefreshTime": "2026-12-06T06:00:00Z",
            "primaryImpact": {
                "category": "COST",
                "costProjection": {"cost": money(cost), "duration": "2592000s"},
            },
            "stateInfo": {"state": "ACTIVE"},
            "priority": "P2",
            "etag": json.dumps(rec_id),
            "content": {"overview": {"resourceName": rec_id}},
        }
