"""Fetching paginated provider reports over HTTP, with bounded retries.

One page at a time (a generator): callers stream rows from each page into a load, so a
month of data is never held in memory by this layer. 429 and 5xx answers, network errors
and 200s whose body is not complete JSON are retried with exponential backoff
(shared.domain.retry.backoff_delay), honouring ``Retry-After`` when the server sends one;
other 4xx answers fail at once. Secrets given in
``redact`` are removed (raw or encoded) from every message this module produces.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from shared.domain.credentials import redact
from shared.domain.errors import StepFailure
from shared.domain.genai import PageError, PagePosition, page_buckets
from shared.domain.retry import backoff_delay

_MAX_PAGES = 10_000  # a server that never stops paging is a bug, not a long month
_ERROR_BODY_CHARS = 300


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 5  # per page
    backoff_seconds: float = 1.0
    max_delay_seconds: float = 60.0  # caps Retry-After too: a step has a timeout


@dataclass(frozen=True, slots=True)
class JsonPage:
    body: Any
    link_next: str | None = None  # the Link header's rel="next" URL (RFC 8288), if sent


@dataclass(frozen=True, slots=True)
class Fetcher:
    client: httpx.Client
    headers: Mapping[str, str]
    retry: RetryPolicy
    redact: Sequence[str] = ()
    should_stop: Callable[[], bool] = lambda: False
    sleep: Callable[[float], None] = time.sleep

    def pages(
        self, url: str, params: Sequence[tuple[str, str | int]], endpoint: str
    ) -> Iterator[tuple[PagePosition, Any]]:
        """Every page of a ``{data, has_more, next_page}`` listing, following the cursor."""
        cursor: str | None = None
        seen: set[str] = set()
        for number in range(1, _MAX_PAGES + 1):
            pos = PagePosition(endpoint, number)
            query = [*params, *([("page", cursor)] if cursor else [])]
            page = self.get_page(url, query, pos).body
            try:
                _, cursor = page_buckets(page, pos)
            except PageError as exc:
                raise StepFailure(str(exc), retryable=False) from None
            yield pos, page
            if cursor is None:
                return
            if cursor in seen:
                raise StepFailure(f"{pos.at()}: next_page repeats an earlier cursor")
            seen.add(cursor)
        raise StepFailure(f"{endpoint}: more than {_MAX_PAGES} pages", retryable=False)

    def get_page(
        self, url: str, query: Sequence[tuple[str, str | int]], pos: PagePosition
    ) -> JsonPage:
        """One page, retried as the module docstring says: its JSON body and Link next."""
        policy = self.retry
        problem = ""
        for attempt in range(1, policy.max_attempts + 1):
            if self.should_stop():
                raise StepFailure(f"{pos.at()}: stopped (step timed out or run cancelled)")
            retry_after: float | None = None
            try:
                response = self.client.get(url, params=list(query), headers=dict(self.headers))
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                status = response.status_code
                if status == 200:
                    try:
                        body = response.json()
                    except (json.JSONDecodeError, UnicodeDecodeError):
                        # A body cut short (dropped connection, proxy) is as transient as
                        # a 5xx; a well-formed page with wrong content is not retried.
                        problem = f"malformed page (not JSON): {_body_excerpt(response)}"
                    else:
                        return JsonPage(body, response.links.get("next", {}).get("url"))
                else:
                    problem = f"HTTP {status}: {_body_excerpt(response)}"
                    if status != 429 and status < 500:
                        # 401/403/404/400: the same request fails again; say what it said.
                        raise StepFailure(self._clean(f"{pos.at()}: {problem}"), retryable=False)
                    retry_after = _retry_after(response)
            if attempt < policy.max_attempts:
                delay = backoff_delay(attempt, policy.backoff_seconds)
                if retry_after is not None:
                    delay = max(delay, retry_after)
                self._wait(min(delay, policy.max_delay_seconds))
        raise StepFailure(
            self._clean(f"{pos.at()}: gave up after {policy.max_attempts} attempts: {problem}"),
            retryable=True,
        )

    def _wait(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0 and not self.should_stop():
            self.sleep(min(left, 0.2))

    def _clean(self, message: str) -> str:
        cleaned: str = redact(message, self.redact)  # an echoed key, raw or encoded
        return cleaned


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:  # the HTTP-date form
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _body_excerpt(response: httpx.Response) -> str:
    text = response.text.strip().replace("\n", " ")
    return text[:_ERROR_BODY_CHARS] + ("..." if len(text) > _ERROR_BODY_CHARS else "")
