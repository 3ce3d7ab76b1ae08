"""Who is working on a journal entry, and whether that process is still alive.

An owner is written on the entries it creates or claims as `pid@host/token`. While its
journal is open, the owner holds an advisory `flock` on `<journal>.owners/<token>.lock`; the
OS drops the lock when the process dies (crash, SIGKILL, container restart), so "alive" means
"its lock is held". A lock was chosen over a heartbeat lease because it needs no renewal
from a process that may be busy or paused, no clock agreement, and no grace period during
which a dead owner still looks alive; a reused PID or a new hostname cannot fake it, since the
token is random. Limit: locks on NFS are not supported (they may not be seen from other
machines); keep the journal on a local disk. Owners written before locks existed (`pid@host`,
no token) count as alive only when that PID runs on this host.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import sys
from pathlib import Path
from typing import Literal

Liveness = Literal["free", "alive_here", "alive_elsewhere"]
"""free: nobody provably works on it; alive_here: a live process on this host (its lock is
held, or an old-style owner's PID runs here); alive_elsewhere: the lock is held by an owner
recorded on another host (a shared disk), which only --force takes over."""


def lock_dir(journal_path: Path) -> Path:
    return journal_path.with_name(journal_path.name + ".owners")


class OwnerLock:
    """This journal connection's identity, and the lock that proves it is alive."""

    def __init__(self, journal_path: Path) -> None:
        self.journal_path = journal_path
        self.token = secrets.token_hex(8)
        self.name = f"{os.getpid()}@{socket.gethostname()}/{self.token}"
        self._fd: int | None = None

    @property
    def path(self) -> Path:
        return lock_dir(self.journal_path) / f"{self.token}.lock"

    def acquire(self) -> str:
        """Take the lock (once) and return the owner name to write on entries: the lock is
        held before the name appears anywhere, so nobody can see the name and a free lock."""
        if self._fd is None and sys.platform != "win32":
            import fcntl

            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a fresh random name: never contended
            self._fd = fd
        return self.name

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        os.close(self._fd)  # closing drops the flock
        self._fd = None


def liveness(journal_path: Path, owner: str | None, me: str) -> Liveness:
    """Whether `owner` (as written on an entry) is a live process other than `me`."""
    if not owner or owner == me:
        return "free"
    ident, slash, token = owner.partition("/")
    pid_text, _, host = ident.partition("@")
    here = host == socket.gethostname()
    if not slash:  # written before owner locks existed
        return "alive_here" if here and _pid_runs(pid_text) else "free"
    if not token.isalnum() or sys.platform == "win32":
        return "free"
    if _lock_held(lock_dir(journal_path) / f"{token}.lock"):
        return "alive_here" if here else "alive_elsewhere"
    return "free"


def _lock_held(path: Path) -> bool:
    import fcntl

    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    except OSError:
        return True  # cannot look: better to skip than to double
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return True
    else:
        # Its owner is gone: the stale file can go too (nobody else ever uses this token).
        with contextlib.suppress(OSError):
            path.unlink()
        return False
    finally:
        os.close(fd)


def _pid_runs(pid_text: str) -> bool:
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError, OverflowError):
        return True
    return True
