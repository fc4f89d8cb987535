"""The services a function entry point runs on, built on its first message.

Building them imports the runtime's stores and clients (and shared.handlers.services pulls
in pydantic models): too heavy for a cold start, so nothing here imports them at module
level.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.handlers.services import Services


def services_on_first_use() -> Callable[[], Services]:
    """A function that builds this process's services (shared/bootstrap/embedded.py's
    build_services) when first called and returns the same ones after."""

    @functools.cache
    def services() -> Services:
        from shared.bootstrap.embedded import build_services

        return build_services()

    return services
