"""Local servers speaking SaaS billing APIs as their vendors document them, for
``generic.api_extractor``; faults are scripted per path as for the GenAI sample server.

- GitHub: ``GET /organizations/{org}/settings/billing/usage?year=&month=&day=``, bearer
  token, ``{"usageItems": [...]}`` of that day (docs.github.com/rest/billing/enhanced-billing);
- Twilio: ``GET /2010-04-01/Accounts/{sid}/Usage/Records/Daily.json?StartDate=&EndDate=
  &PageSize=``, basic auth sid:token, ``{"usage_records": [...], "next_page_uri": ...}``
  with a relative next page URI (twilio.com/docs/usage/api/usage-record);
- ``/generic/items``: one listing paged every way the extractor follows (``style`` =
  cursor | page_number | offset | link_header), ``X-Api-Key`` header auth.
"""

from __future__ import annotations

import base64
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from shared.demo.genai_sample_server import SampleGenAIServer

GITHUB_PRODUCTS = (  # product, sku, unit, price per unit, quantity per day
    ("Actions", "Actions Linux", "minutes", Decimal("0.008"), Decimal(1200)),
    ("Actions", "Actions macOS 3-core", "minutes", Decimal("0.08"), Decimal(95)),
    ("Packages", "Packages storage", "GigabyteHours", Decimal("0.00033602"), Decimal(720)),
    ("Copilot", "Copilot Business", "UserMonths", Decimal("19"), Decimal("0.2")),
)
TWILIO_CATEGORIES = (  # category, description, usage unit, price per unit, usage per day
    ("calls-outbound", "Voice Minutes Outbound", "minutes", Decimal("0.014"), 310),
    ("sms-outbound", "Outbound SMS", "segments", Decimal("0.0079"), 1450),
    ("recordings", "Voice Recordings", "minutes", Decimal("0.0025"), 96),
)
GENERIC_ITEMS_PER_DAY = 5


def github_usage(org: str, day: date) -> list[dict[str, Any]]:
    items = []
    for product, sku, unit, price, quantity in GITHUB_PRODUCTS:
        gross = price * quantity
        discount = gross if product == "Actions" and "Linux" in sku else Decimal(0)
        items.append(
            {
                "date": f"{day:%Y-%m-%d}T00:00:00Z",
                "product": product,
                "sku": sku,
                "quantity": float(quantity),
                "unitType": unit,
                "pricePerUnit": float(price),
                "grossAmount": float(gross),
                "discountAmount": float(discount),  # included minutes
                "netAmount": float(gross - discount),
                "organizationName": org,
                "repositoryName": f"{org}/app" if product == "Actions" else "",
            }
        )
    return items


def twilio_records(sid: str, day: date) -> list[dict[str, Any]]:
    records = []
    for category, description, unit, price, usage in TWILIO_CATEGORIES:
        records.append(
            {
                "account_sid": sid,
                "api_version": "2010-04-01",
                "as_of": f"{day + timedelta(days=1)}T03:00:00+00:00",
                "category": category,
                "count": str(usage // 3),
                "count_unit": "calls" if category.startswith("calls") else unit,
                "description": description,
                "end_date": day.isoformat(),
                "price": f"{price * usage:.5f}",  # Twilio sends prices as strings
                "price_unit": "usd",
                "start_date": day.isoformat(),
                "subresource_uris": {},
                "uri": f"/2010-04-01/Accounts/{sid}/Usage/Records/Daily.json?Category={category}",
                "usage": str(usage),
                "usage_unit": unit,
            }
        )
    return records


def generic_items(day: date) -> list[dict[str, Any]]:
    return [
        {
            "id": f"{day:%Y%m%d}-{i}",
            "day": day.isoformat(),
            "amount": f"{Decimal(i + 1) * Decimal('1.25')}",
            "meta": {"sku": f"sku-{i % 2}", "tags": ["a", "b"][: i % 3]},
        }
        for i in range(GENERIC_ITEMS_PER_DAY)
    ]


class SaasApiServer(SampleGenAIServer):
    """The GitHub, Twilio and generic listings above, on 127.0.0.1."""

    def __init__(
        self, *, github_token: str, twilio_sid: str, twilio_token: str, api_key: str
    ) -> None:
        super().__init__(openai_key="-", anthropic_key="-")
        self.github_token = github_token
        self.twilio_sid, self.twilio_token = twilio_sid, twilio_token
        self.api_key = api_key
        self.extra_records: list[dict[str, Any]] = []  # added to the last generic page

    def _answer(self, path: str, query: dict[str, list[str]], headers: Any) -> tuple[int, Any]:
        if path.startswith("/organizations/"):
            return self._github(path, query, headers)
        if path.startswith("/2010-04-01/Accounts/"):
            return self._twilio(path, query, headers)
        if path == "/generic/items":
            if headers.get("X-Api-Key") != self.api_key:
                return 401, {"error": "bad key"}
            return 200, self._generic(query)[0]
        return super()._answer(path, query, headers)

    def _answer_headers(self, path: str, query: dict[str, list[str]]) -> dict[str, str]:
        if path == "/generic/items" and _one(query, "style") == "link_header":
            following = self._generic(query)[1]
            if following is not None:
                return {"Link": f'<{self.url}/generic/items?{following}>; rel="next"'}
        return {}

    def _github(self, path: str, query: dict[str, list[str]], headers: Any) -> tuple[int, Any]:
        if headers.get("Authorization") != f"Bearer {self.github_token}":
            return 401, {"message": "Bad credentials", "status": "401"}
        org = path.split("/")[2]
        if path != f"/organizations/{org}/settings/billing/usage":
            return 404, {"message": "Not Found", "status": "404"}
        try:
            day = date(*(int(_one(query, name) or "") for name in ("year", "month", "day")))
        except ValueError:
            return 400, {"message": "year, month and day are required here", "status": "400"}
        return 200, {"usageItems": github_usage(org, day)}

    def _twilio(self, path: str, query: dict[str, list[str]], headers: Any) -> tuple[int, Any]:
        token = base64.b64encode(f"{self.twilio_sid}:{self.twilio_token}".encode()).decode()
        if headers.get("Authorization") != f"Basic {token}":
            return 401, {"code": 20003, "message": "Authenticate", "status": 401}
        base = f"/2010-04-01/Accounts/{self.twilio_sid}/Usage/Records/Daily.json"
        if path != base:
            return 404, {"code": 20404, "message": "not found", "status": 404}
        start = date.fromisoformat(_one(query, "StartDate") or "")
        end = date.fromisoformat(_one(query, "EndDate") or "")
        size = int(_one(query, "PageSize") or 50)
        page = int(_one(query, "Page") or 0)
        records = [
            r
            for i in range((end - start).days + 1)
            for r in twilio_records(self.twilio_sid, start + timedelta(days=i))
        ]
        chunk = records[page * size : (page + 1) * size]
        more = (page + 1) * size < len(records)
        keep = {"StartDate": start.isoformat(), "EndDate": end.isoformat(), "PageSize": size}
        following = urlencode({**keep, "Page": page + 1, "PageToken": f"PA{page + 1}"})
        return 200, {
            "usage_records": chunk,
            "first_page_uri": f"{base}?{urlencode({**keep, 'Page': 0})}",
            "next_page_uri": f"{base}?{following}" if more else None,
            "previous_page_uri": None,
            "page": page,
            "page_size": size,
            "start": page * size,
            "end": page * size + len(chunk) - 1,
            "uri": f"{base}?{urlencode({**keep, 'Page': page})}",
        }

    def _generic(self, query: dict[str, list[str]]) -> tuple[dict[str, Any], str | None]:
        """(page body, query of the next page or None) in the asked-for style."""
        style = _one(query, "style") or "cursor"
        start = date.fromisoformat(_one(query, "since") or "")
        end = date.fromisoformat(_one(query, "until") or "")
        items = [
            item
            for i in range((end - start).days + 1)
            for item in generic_items(start + timedelta(days=i))
        ]
        size = int(_one(query, "per_page") or 4)
        if style == "cursor":
            first = int((_one(query, "cursor") or "c0").removeprefix("c"))
        elif style == "offset":
            first = int(_one(query, "offset") or 0)
        else:  # page_number, link_header: pages numbered from 1
            first = (int(_one(query, "page") or 1) - 1) * size
        chunk = items[first : first + size]
        more = first + size < len(items)
        if not more and first < len(items):  # on the last page of items
            chunk = [*chunk, *self.extra_records]
        body: dict[str, Any] = {"data": {"items": chunk}}
        following = None
        if style == "cursor":
            body["meta"] = {"next_cursor": f"c{first + size}" if more else None}
        elif more and style == "link_header":
            keep = {k: v[0] for k, v in query.items() if k != "page"}
            following = urlencode({**keep, "page": first // size + 2})
        return body, following


def _one(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None
