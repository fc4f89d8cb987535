"""The embedded BigQuery: bqemulator running in-process on a persistent DuckDB directory.

Used by the embedded runtime and the test suite. The official client talks to it over
REST exactly as it talks to BigQuery, so no SQL or code path differs from production.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

# Loggers the emulator (and its SQL translator / web server) write to; silenced so the CLI's
# output stays clean. Its failures still reach the caller as HTTP errors.
_NOISY_LOGGERS = ("bqemulator", "sqlglot", "uvicorn", "uvicorn.error", "uvicorn.access", "duckdb")


class EmbeddedBigQuery:
    """Start/stop bqemulator on a background thread with its own asyncio loop."""

    def __init__(self, data_dir: Path, project_id: str) -> None:
        self.data_dir = data_dir
        self.project_id = project_id
        self._server: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def rest_url(self) -> str:
        if self._server is None:
            raise RuntimeError("EmbeddedBigQuery is not started")
        url: str = self._server.rest_url
        return url

    def client(self) -> bigquery.Client:
        # google-auth leaves this constructor unannotated.
        credentials = AnonymousCredentials()  # type: ignore[no-untyped-call]
        return bigquery.Client(
            project=self.project_id,
            credentials=credentials,
            client_options=ClientOptions(api_endpoint=self.rest_url),
        )

    def start(self) -> None:
        if self._server is not None:
            return
        # Imported here: the emulator (DuckDB, FastAPI, gRPC) is heavy and only the
        # embedded runtime needs it.
        from bqemulator.config import LogLevel, PersistenceMode, Settings
        from bqemulator.observability.logging_ import configure_logging

        self.data_dir.mkdir(parents=True, exist_ok=True)
        settings = Settings(
            rest_port=0,
            grpc_port=0,
            persistence_mode=PersistenceMode.PERSISTENT,
            data_dir=self.data_dir,
            default_project_id=self.project_id,
            log_level=LogLevel.CRITICAL,
        )
        # The emulator configures structlog and calls logging.basicConfig(force=True),
        # which replaces the host's root handlers: keep them and put them back after.
        root = logging.getLogger()
        saved_level, saved_handlers = root.level, list(root.handlers)
        try:
            # Configured before the server module is even imported: its SQL translator
            # logs at import through structlog's print-everything default.
            configure_logging(level=settings.log_level, fmt=settings.log_format)
            from bqemulator.server import EmulatorServer

            server = EmulatorServer(settings)
            loop, thread = self._run_in_thread(server)
        finally:
            root.setLevel(saved_level)
            root.handlers[:] = saved_handlers
            for name in _NOISY_LOGGERS:
                logging.getLogger(name).setLevel(logging.CRITICAL)
        self._server, self._loop, self._thread = server, loop, thread

    @staticmethod
    def _run_in_thread(server: Any) -> tuple[asyncio.AbstractEventLoop, threading.Thread]:
        """Start ``server`` on a new thread's event loop; return once it serves (or failed)."""
        loop = asyncio.new_event_loop()
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(server.start())
            except BaseException as exc:  # handed to the starting thread below
                failure.append(exc)
                return
            finally:
                started.set()
            loop.run_forever()

        thread = threading.Thread(target=run, name="bqemulator", daemon=True)
        thread.start()
        started.wait()
        if failure:
            thread.join()
            loop.close()
            raise RuntimeError("bqemulator failed to start") from failure[0]
        return loop, thread

    def stop(self) -> None:
        if self._server is None or self._loop is None or self._thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._server.stop(), self._loop).result(10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            if not self._thread.is_alive():
                self._loop.close()
            self._server = self._loop = self._thread = None

    def __enter__(self) -> EmbeddedBigQuery:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
