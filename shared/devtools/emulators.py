"""Start and stop the Google Cloud emulators (Firestore, Pub/Sub) as local processes.

Used by the test fixtures and by ``make up``. ``gcloud … emulators … start`` is a
wrapper that spawns a ``java`` child, so each emulator gets its own process group
(``start_new_session``) and is stopped by signalling the whole group: ending the
wrapper alone would leave java running with the port taken. Only the groups this
module started are ever signalled.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

_HOST = "127.0.0.1"


class EmulatorError(RuntimeError):
    """An emulator is missing, did not start, or did not answer in time."""


@dataclass
class Emulator:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def host_port(self) -> str:
        """What FIRESTORE_EMULATOR_HOST / PUBSUB_EMULATOR_HOST expect."""
        return f"{_HOST}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host_port}"

    def stop(self, timeout: float = 10.0) -> None:
        stop_group(self.process.pid, timeout=timeout)
        self.process.wait(timeout=timeout)


def free_port() -> int:
    """A port nothing listens on now (the emulator binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def stop_group(pgid: int, *, timeout: float = 10.0) -> None:
    """SIGTERM the process group ``pgid`` (one we started), then SIGKILL what is left."""
    stop_groups([pgid], timeout=timeout)


def stop_groups(pgids: list[int], *, timeout: float = 10.0) -> None:
    """Stop several groups at once (each emulator takes ~2 s to shut down)."""
    alive = set()
    for pgid in pgids:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
            alive.add(pgid)
    deadline = time.monotonic() + timeout
    while alive and time.monotonic() < deadline:
        for pgid in list(alive):
            try:
                os.killpg(pgid, 0)  # any member still alive?
            except ProcessLookupError:
                alive.discard(pgid)
                continue
            _reap(pgid)
        time.sleep(0.1)
    for pgid in alive:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)


def _reap(pid: int) -> None:
    # A group leader that is our child stays a zombie (and keeps the group "alive") until
    # waited for; reaping it is harmless if it belongs to a Popen that waits later.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def wait_http(url: str, *, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    """Poll ``url`` until it answers HTTP (any status); EmulatorError on timeout/exit."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - loopback http only
                return
        except urllib.error.HTTPError:
            return  # it answered
        except OSError:
            pass
        if process is not None and process.poll() is not None:
            raise EmulatorError(f"{url}: process exited with code {process.returncode}")
        if time.monotonic() > deadline:
            raise EmulatorError(f"{url} did not answer within {timeout:.0f} s")
        time.sleep(0.2)


def start_process(
    name: str,
    argv: list[str],
    port: int,
    log_dir: Path,
    *,
    timeout: float,
    ready_path: str = "/",
    env: Mapping[str, str] | None = None,
) -> Emulator:
    """Start ``argv`` in its own process group and wait until ``port`` answers HTTP.

    ``env`` is added to this process's environment for the child only.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **env} if env else None,
        )
    emulator = Emulator(name, port, process, log_path)
    try:
        wait_http(f"{emulator.url}{ready_path}", timeout=timeout, process=process)
    except BaseException as exc:
        emulator.stop()
        tail = log_path.read_text(errors="replace")[-2000:]
        raise EmulatorError(f"{name} did not start: {exc}\n--- {log_path} ---\n{tail}") from exc
    return emulator


def _gcloud() -> str:
    path = shutil.which("gcloud")
    if path is None:
        raise EmulatorError("gcloud is not on the PATH (the Cloud SDK ships both emulators)")
    return path


def start_firestore(log_dir: Path, *, port: int | None = None, timeout: float = 60) -> Emulator:
    port = port or free_port()
    argv = [_gcloud(), "emulators", "firestore", "start", f"--host-port={_HOST}:{port}"]
    return start_process("firestore", argv, port, log_dir, timeout=timeout)


def start_pubsub(log_dir: Path, *, port: int | None = None, timeout: float = 60) -> Emulator:
    port = port or free_port()
    argv = [_gcloud(), "beta", "emulators", "pubsub", "start", f"--host-port={_HOST}:{port}"]
    return start_process("pubsub", argv, port, log_dir, timeout=timeout)


def wipe_firestore(host_port: str, project: str) -> None:
    """Delete every document in the emulator's default database (between tests)."""
    url = f"http://{host_port}/emulator/v1/projects/{project}/databases/(default)/documents"
    request = urllib.request.Request(url, method="DELETE")
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - loopback http only
        pass
