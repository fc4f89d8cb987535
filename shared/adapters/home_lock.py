"""Which embedded runtimes are alive on one home directory.

Every embedded runtime holds a shared ``flock`` on ``$PIPELINES_HOME/runtime.lock`` for
its life; the kernel drops it when the process dies, kill -9 included. A runtime that
gets the lock exclusively at start is the only one alive, so every run still marked
pending or running was left by a dead process and can be swept at once, not after the
stale-run sweeper's timeout.
"""

from __future__ import annotations

import fcntl
from pathlib import Path


class HomeLock:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a+b")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.sole = True
        except BlockingIOError:
            self.sole = False
            fcntl.flock(self._file, fcntl.LOCK_SH)  # waits out a starter's brief sweep

    def share(self) -> None:
        """Done sweeping: let other runtimes start beside this one."""
        fcntl.flock(self._file, fcntl.LOCK_SH)

    def close(self) -> None:
        self._file.close()  # releases the lock
