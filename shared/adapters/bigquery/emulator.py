"""The embedded BigQuery: bqemulator running in-process on a persistent DuckDB directory.

Used by the embedded runtime, the test suite and (as ``python -m
shared.adapters.bigquery.emulator``) the local emulator stack. The official client talks to it
over REST exactly as it talks to BigQuery, so no SQL or code path differs from production.

bqemulator 1.4.0 serves every request from ONE ``DuckDBPyConnection``, which is not safe
to use from two threads at once (DuckDB: one cursor per thread), yet FastAPI runs its
sync endpoints (tabledata.list, jobs.delete/cancel, ...) on a thread pool beside the
async ones on the event loop, and its snapshot GC runs on the loop too. Concurrent step
workers therefore segfaulted the process. :class:`SerialisedRequests` lets one request
at a time into the emulator, and the GC and shutdown take the same lock. Per-thread
cursors were rejected: the emulator keeps session state (time zone, UDFs, temp tables,
transactions) on its one connection, and a statement's results are read back from it
after ``execute`` returns. DuckDB parallelises each statement over all cores, so
serialising statements costs little (measured in ``bench/warehouse_concurrency.py``).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections.abc import Awaitable, Callable, Hashable, Iterable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

# Loggers the emulator (and its SQL translator / web server) write to; silenced so the CLI's
# output stays clean. Its failures still reach the caller as HTTP errors.
_NOISY_LOGGERS = ("bqemulator", "sqlglot", "uvicorn", "uvicorn.error", "uvicorn.access", "duckdb")


_Scope = MutableMapping[str, Any]
_Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
_Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
_Asgi = Callable[[_Scope, _Receive, _Send], Awaitable[None]]


class SerialisedRequests:
    """ASGI middleware: one HTTP request at a time inside the emulator.

    The lock is held for the whole request, thread-pool part included, so no two
    requests ever touch the DuckDB connection together. Once :meth:`close` has drained
    the request in flight, later requests get 503 without reaching the emulator.
    """

    def __init__(self, app: _Asgi, lock: asyncio.Lock, closing: asyncio.Event) -> None:
        self.app = app
        self.lock = lock
        self.closing = closing

    async def __call__(self, scope: _Scope, receive: _Receive, send: _Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        async with self.lock:
            if not self.closing.is_set():
                await self.app(scope, receive, send)
                return
        await send({"type": "http.response.start", "status": 503, "headers": []})
        await send({"type": "http.response.body", "body": b"bqemulator is stopping"})


def serialise_requests(app: Any, lock: asyncio.Lock, closing: asyncio.Event) -> None:
    """Put :class:`SerialisedRequests` in front of a Starlette ``app``'s requests.

    ``add_middleware`` refuses once the app has served a request (its stack is built on
    the first one, e.g. a readiness probe that came in as the port opened, which failed
    the emulator's start under load); then the built stack is wrapped instead. Both run
    on the event loop that serves the requests, so no request slips between the test and
    the change."""
    if app.middleware_stack is None:
        app.add_middleware(SerialisedRequests, lock=lock, closing=closing)
    else:
        app.middleware_stack = SerialisedRequests(app.middleware_stack, lock, closing)


def _skip_time_travel_copies(snapshots: Any) -> None:
    """Stop bqemulator copying a whole table after every write to it.

    For ``FOR SYSTEM_TIME AS OF`` it captures an AUTO snapshot (``CREATE TABLE ... AS
    SELECT *`` of the table) after each DML statement, load and stream: every slice
    replace then cost a copy of the whole FOCUS table, so a run's cost grew with the
    table's history. Nothing here reads time travel; BigQuery keeps its own. Only AUTO
    captures are skipped: the change event still fires (materialized views), and
    ``CREATE SNAPSHOT TABLE`` (kind USER) still copies.
    """
    capture = snapshots.capture

    def capture_user_snapshots_only(*args: Any, kind: str = "AUTO", **kwargs: Any) -> Any:
        return None if kind == "AUTO" else capture(*args, kind=kind, **kwargs)

    snapshots.capture = capture_user_snapshots_only


def _calls_join_open_transactions() -> None:
    """A CALL made inside BEGIN TRANSACTION ... COMMIT is part of that transaction.

    bqemulator runs a procedure body in a fresh interpreter that knows nothing of the
    caller's open transaction, so the body's writes were never snapshotted and a script
    failing after them did not roll them back (BigQuery does: the steps' atomic slice
    replaces rely on it). Before such a CALL, every table the body writes is snapshotted
    into the caller's transaction by the emulator's own mechanism, so an error or ROLLBACK
    restores it. (One level: a CALL inside the called body is not followed.)
    """
    from bqemulator.scripting import ast, interpreter
    from bqemulator.scripting.parser import parse_script

    scripts = interpreter.ScriptInterpreter
    if getattr(scripts._invoke_procedure, "joins_transactions", False):
        return
    invoke = scripts._invoke_procedure

    def written(statements: tuple[ast.Statement, ...]) -> Iterator[str]:
        for statement in statements:
            if isinstance(statement, ast.SqlStmt):
                yield statement.sql
            elif isinstance(statement, ast.IfStmt):
                for _, body in statement.branches:
                    yield from written(body)
                yield from written(statement.else_body or ())
            elif isinstance(statement, ast.BeginStmt):
                yield from written(statement.body)
                yield from written(statement.exception_handler or ())
            elif isinstance(statement, ast.WhileStmt | ast.LoopStmt | ast.ForStmt):
                yield from written(statement.body)

    async def invoke_in_transaction(self: Any, routine: Any, args: list[Any]) -> Any:
        if self._active_txn is not None:
            for sql in written(parse_script(routine.definition_body).statements):
                await self._snapshot_dml_targets(sql)
        return await invoke(self, routine, args)

    invoke_in_transaction.joins_transactions = True  # type: ignore[attr-defined]
    scripts._invoke_procedure = invoke_in_transaction  # type: ignore[method-assign]


def _reuse_sql_parses() -> None:
    """Parse each SQL text once per dialect and options, not once per emulator pass.

    bqemulator runs a statement through about twenty passes (row access, catalog schema,
    each type and function rewrite, then its DDL detectors), and each parses the text
    afresh with sqlglot: the FOCUS conversion's 17k-character INSERT was parsed 22 times
    per CALL, at 0.05 s each (bench/focus_conversion.py's profile). Parsing is a pure
    function of (dialect, options, text), so the trees are kept (a small LRU) and each
    caller gets its own copy, which costs a tenth of a parse; passes may mutate it freely.
    Applied once per process (it patches sqlglot's Dialect class).
    """
    from sqlglot.dialects.dialect import Dialect

    if getattr(Dialect.parse, "reuses_parses", False):
        return
    parse = Dialect.parse

    @functools.lru_cache(maxsize=64)
    def parsed(
        dialect: Dialect, state: Hashable, sql: str, options: tuple[tuple[str, Any], ...]
    ) -> tuple[Any, ...]:
        return tuple(parse(dialect, sql, **dict(options)))

    def parse_once(self: Dialect, sql: str, **options: Any) -> list[Any]:
        # A Dialect hashes by its class alone: its settings join the key explicitly.
        state = (self.normalization_strategy, tuple(sorted(self.settings.items())))
        try:
            trees = parsed(self, state, sql, tuple(sorted(options.items())))
        except TypeError:  # an option that cannot be a cache key: parse as before
            return parse(self, sql, **options)
        return [tree if tree is None else tree.copy() for tree in trees]

    parse_once.reuses_parses = True  # type: ignore[attr-defined]
    Dialect.parse = parse_once  # type: ignore[method-assign]


def in_unnest_as_list_contains(node: Any) -> Any:
    """The DuckDB form of one ``x IN UNNEST(array)`` filter, or None to leave ``node`` be.

    sqlglot writes BigQuery's ``x IN UNNEST(a)`` for DuckDB as ``x IN (SELECT UNNEST(a))``,
    a semi join that cost the GCP extract's INSERT of 1M rows 2 s more than no filter at
    all, where ``list_contains(a, x)`` costs 0.1 s. The two differ only where the IN is
    NULL (x NULL, or no match beside a NULL element): list_contains says NULL or false. So
    only an IN reached from a WHERE through AND, OR and parentheses is rewritten, where
    NULL and false both drop the row (under NOT, in a CASE or a SELECT list they differ)."""
    from sqlglot import exp

    if not isinstance(node, exp.In) or not isinstance(node.args.get("query"), exp.Subquery):
        return None
    select = node.args["query"].this
    if not isinstance(select, exp.Select) or len(select.expressions) != 1:
        return None
    if any(select.args.get(part) for part in select.arg_types if part != "expressions"):
        return None  # a FROM, WHERE, ... : a real subquery
    [unnest] = select.expressions
    if isinstance(unnest, exp.Alias):  # as its type annotation pass names a projection
        unnest = unnest.this
    if not isinstance(unnest, exp.Explode) or unnest.args.get("expressions"):
        return None
    parent = node.parent
    while isinstance(parent, exp.And | exp.Or | exp.Paren):
        parent = parent.parent
    if not isinstance(parent, exp.Where):
        return None
    return exp.Anonymous(this="list_contains", expressions=[unnest.this.copy(), node.this.copy()])


def _filter_in_unnest_by_list_contains(translators: Iterable[Any]) -> None:
    """Make :func:`in_unnest_as_list_contains` one of bqemulator's translation rules: in its
    registry (translators made from now on) and in each translator made before."""
    from bqemulator.sql.rules import _REGISTRY, TranslationRule
    from sqlglot import exp

    class InUnnestFilter(TranslationRule):
        name = "IN UNNEST filter"

        def applies_to(self, node: exp.Expression) -> bool:
            return in_unnest_as_list_contains(node) is not None

        def rewrite(self, node: exp.Expression) -> exp.Expression:
            rewritten: exp.Expression = in_unnest_as_list_contains(node)
            return rewritten

    if any(rule.name == InUnnestFilter.name for rule in _REGISTRY):
        return
    _REGISTRY.append(InUnnestFilter)
    for translator in translators:
        translator._rules.append(InUnnestFilter())


class EmbeddedBigQuery:
    """Start/stop bqemulator on a background thread with its own asyncio loop."""

    def __init__(self, data_dir: Path, project_id: str, *, rest_port: int = 0) -> None:
        self.data_dir = data_dir
        self.project_id = project_id
        self.rest_port = rest_port
        self._server: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = asyncio.Lock()
        self._closing = asyncio.Event()
        self._gc_task: asyncio.Task[None] | None = None
        self._lifecycle = threading.Lock()  # start/stop from any thread, once each

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
        with self._lifecycle:
            if self._server is None:
                self._start()

    def _start(self) -> None:
        # Imported here: the emulator (DuckDB, FastAPI, gRPC) is heavy and only the
        # embedded runtime needs it.
        from bqemulator.config import LogLevel, PersistenceMode, Settings
        from bqemulator.observability.logging_ import configure_logging

        self.data_dir.mkdir(parents=True, exist_ok=True)
        settings = Settings(
            rest_port=self.rest_port,
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
            loop, thread = self._run_in_thread(server, self._serialise)
        finally:
            root.setLevel(saved_level)
            root.handlers[:] = saved_handlers
            for name in _NOISY_LOGGERS:
                logging.getLogger(name).setLevel(logging.CRITICAL)
        self._server, self._loop, self._thread = server, loop, thread

    async def _serialise(self, server: Any) -> None:
        """Put every request, and the snapshot GC, under one lock (see the module doc).

        Runs right after ``server.start()``. The port is open by then, so a caller's
        readiness probe may already have made Starlette build its middleware stack;
        :func:`serialise_requests` handles both cases. The attributes read here are
        bqemulator 1.4.0's (pinned); a change fails loudly.
        """
        serialise_requests(server._fastapi_server.config.app, self._lock, self._closing)
        _skip_time_travel_copies(server._context.snapshots)
        _reuse_sql_parses()
        _calls_join_open_transactions()
        from bqemulator.jobs import executor  # its translator was made at import

        _filter_in_unnest_by_list_contains([executor._translator])
        emulator_gc: asyncio.Task[None] = server._gc_task
        emulator_gc.cancel()
        self._gc_task = asyncio.create_task(
            self._locked_snapshot_gc(server._context.snapshots), name="bqemulator.locked-gc"
        )

    async def _locked_snapshot_gc(self, snapshots: Any) -> None:
        # The emulator's own interval: 1/48 of the time-travel retention (7 days).
        interval = 7 * 86400.0 / 48.0
        while True:
            await asyncio.sleep(interval)
            async with self._lock:
                if self._closing.is_set():
                    return
                snapshots.purge_expired()

    async def _drain(self) -> None:
        """Refuse new requests and wait for the one in flight, before DuckDB closes."""
        self._closing.set()
        async with self._lock:
            if self._gc_task is not None:
                self._gc_task.cancel()

    @staticmethod
    def _run_in_thread(
        server: Any, after_start: Callable[[Any], Awaitable[None]]
    ) -> tuple[asyncio.AbstractEventLoop, threading.Thread]:
        """Start ``server`` on a new thread's event loop; return once it serves (or failed)."""
        loop = asyncio.new_event_loop()
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(server.start())
                loop.run_until_complete(after_start(server))
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
        with self._lifecycle:
            self._stop()

    def _stop(self) -> None:
        if self._server is None or self._loop is None or self._thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._drain(), self._loop).result(60)
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

    def __exit__(self, *_: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """Serve the embedded BigQuery on a fixed port until SIGTERM/SIGINT (the local stack)."""
    import argparse
    import signal

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--project", required=True)
    args = parser.parse_args(argv)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with EmbeddedBigQuery(args.data_dir, args.project, rest_port=args.port) as bq:
        print(f"bqemulator serving {bq.rest_url} from {args.data_dir}", flush=True)
        stop.wait()


if __name__ == "__main__":
    main()
