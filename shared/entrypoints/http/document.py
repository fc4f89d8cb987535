"""The checked-in OpenAPI document (openapi.json, written by openapi.py): what
``GET /openapi.json`` serves and what the function zip carries."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

OPENAPI_FILE = Path(__file__).resolve().parent / "openapi.json"


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The document as checked in (a test keeps it the generated one)."""
    document: dict[str, Any] = json.loads(OPENAPI_FILE.read_text(encoding="utf-8"))
    return document
