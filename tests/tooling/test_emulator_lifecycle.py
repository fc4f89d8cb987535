"""The emulator process lifecycle, on a stand-in that behaves like the gcloud wrapper.

The wrapper spawns a child (java) that holds the port; stopping must end the whole
group it started, free the port, and leave every other process alone.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from shared.devtools.emulators import EmulatorError, free_port, start_firestore, start_process
from shared.devtools.stack import down
from tests.support.emulators import unavailable

# A "wrapper" that starts a child HTTP server on the port and then just waits, like gcloud.
WRAPPER = """
import subprocess, sys
child = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", sys.argv[1]],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print("child", child.pid, flush=True)
child.wait()
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still "exists" until reaped; read its state.
    status = Path(f"/proc/{pid}/stat")
    return status.exists() and status.read_text().split()[2] != "Z"


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_stop_ends_the_wrapper_and_its_child_and_frees_the_port(tmp_path: Path) -> None:
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        port = free_port()
        emulator = start_process(
            "fake", [sys.executable, "-c", WRAPPER, str(port)], port, tmp_path, timeout=20
        )
        assert _port_open(port)
        child_pid = int(emulator.log_path.read_text().split()[1])
        assert os.getpgid(child_pid) == emulator.process.pid  # its own group

        emulator.stop()

        assert emulator.process.poll() is not None
        assert not _alive(child_pid)
        assert not _port_open(port)
        assert bystander.poll() is None  # only what was started is stopped
    finally:
        bystander.kill()
        bystander.wait()


def test_a_process_that_exits_at_once_is_reported_with_its_log(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", "import sys; print('boom: no java'); sys.exit(3)"]
    with pytest.raises(EmulatorError, match="boom: no java"):
        start_process("broken", argv, free_port(), tmp_path, timeout=20)


def test_down_stops_what_up_recorded_and_nothing_else(tmp_path: Path) -> None:
    port = free_port()
    ours = start_process(
        "ours", [sys.executable, "-c", WRAPPER, str(port)], port, tmp_path, timeout=20
    )
    # A recycled pid: the pid file names a process that is not running our command line.
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    stack_dir = tmp_path / "stack"
    stack_dir.mkdir()
    (stack_dir / "ours.pid").write_text(json.dumps({"pid": ours.process.pid, "port": port}))
    (stack_dir / "stale.pid").write_text(json.dumps({"pid": stranger.pid, "port": 1}))
    try:
        assert down(tmp_path) == ["ours"]
        ours.process.wait(timeout=10)
        assert not _port_open(port)
        assert stranger.poll() is None
        assert list(stack_dir.glob("*.pid")) == []
    finally:
        stranger.kill()
        stranger.wait()


def test_a_missing_gcloud_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shared.devtools.emulators.shutil.which", lambda _name: None)
    with pytest.raises(EmulatorError, match="gcloud is not on the PATH"):
        start_firestore(tmp_path)


@pytest.mark.parametrize(
    ("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)]
)
def test_an_unavailable_emulator_fails_under_ci_and_skips_elsewhere(
    monkeypatch: pytest.MonkeyPatch, ci: str, outcome: type[BaseException]
) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="no java"):
        unavailable("no java")
