"""Who is working on a journal entry, and whether that process is still alive.

An owner is written on the entries it creates or claims as `pid@host/token`. While its
journal is open, the owner holds an advisory `flock` on `<journal>.owners/<token>.lock`; the
OS drops the lock when the process dies (crash, SIGKILL, container restart), so "alive" means
"its lock is held". A lock was chosen over a heartbeat lease because it needs no renewal
from a process that may be busy or paused, no clock agreement, and no grace period during
which a dead owner still looks alive; a reused PID or a new hostname cannot fake it, since the
token is random. Limit: locks on NFS are not supported (they may not be seen from other
machines); keep the journal on a local disk. Owners written before locks existed (`pid@host`,
no token) can hold no lock: they count as alive only when that PID runs on this host and (on
Linux, where a process's start time is known) started before the entry was last written, since
a process started later merely reuses the PID; `--force` takes them over in any case.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from pathlib import Path
from typing import Literal

Liveness = Literal["free", "alive_here", "alive_elsewhere", "alive_unproven"]
"""free: nobody provably works on it; alive_here: its lock is held by a process on this host;
alive_elsewhere: the lock is held by an owner recorded on another host (a shared disk);
alive_unproven: an old-style owner (no lock) whose PID runs here and may still be it. Only
--force takes over the last two."""


def lock_dir(journal_path: Path) -> Path:
    return journal_path.with_name(journal_path.name + ".owners")


class OwnerLock:
    """This journal connection's identity, and the lock that proves it is alive."""

    def __init__(self, journal_path: Path) -> None:
        self.journal_path = journal_path
        self.token = os.urandom(8).hex()  # secrets.token_hex(8), without importing secrets
        self._pid = os.getpid()
        self._fd: int | None = None

    @functools.cached_property
    def name(self) -> str:
        """pid@host/token: asked for by writers only (`mediagen tasks` never imports socket)."""
        import socket

        return f"{self._pid}@{socket.gethostname()}/{self.token}"

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


def liveness(
    journal_path: Path, owner: str | None, me: str, updated_at: float | None = None
) -> Liveness:
    """Whether `owner` (as written on an entry last updated at `updated_at`, a Unix time) is
    a live process other than `me`."""
    if not owner or owner == me:
        return "free"
    ident, slash, token = owner.partition("/")
    pid_text, _, host = ident.partition("@")
    import socket

    here = host == socket.gethostname()
    if not slash:  # written before owner locks existed
        if not here or not _pid_runs(pid_text):
            return "free"
        started = _process_start(pid_text)
        if started is not None and updated_at is not None and started > updated_at + _CLOCK_SLACK:
            return "free"  # the PID was reused by a process born after the entry was written
        return "alive_unproven"
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


# /proc/stat's boot time has whole seconds: the real owner may look up to this much younger.
_CLOCK_SLACK = 1.0


def _process_start(pid_text: str) -> float | None:
    """When process `pid_text` started, as a Unix time; None where /proc cannot tell."""
    try:
        stat = Path(f"/proc/{int(pid_text)}/stat").read_text(encoding="ascii", errors="replace")
        boot = next(
            float(line.split()[1])
            for line in Path("/proc/stat").read_text(encoding="ascii").splitlines()
            if line.startswith("btime ")
        )
        # Field 22 (starttime, in clock ticks since boot); the command name (field 2) may hold
        # spaces and parentheses, so count from its closing parenthesis (field 3 onward).
        ticks = int(stat.rpartition(")")[2].split()[19])
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None
