"""CLI processes forked from a warm interpreter (a zygote), for tests that start many of them.

A `mediagen run`/`batch`/`resume` process spends about 0.7 s of CPU of its ~0.8 s importing
(aiohttp, attrs building classes, the client, the journal) before it does anything; a test
that starts twenty of them (the kill campaign) pays that twenty times. The zygote, started
once per test, imports those modules and then forks one child per command: each child is a
process of its own (its own pid, event loop, SQLite connections, file descriptors, exit
status; SIGKILL kills it as it kills `python -m mediagen`), runs `mediagen/__main__.py` as
`python -m mediagen` does, with the environment, folder and output files it is given, and
ends through the interpreter's usual exit. What it does not exercise is the interpreter's
start-up: keep a real `python -m mediagen` process wherever start-up is the point, and at
least one per command and flow. A child may run `python -c CODE` instead (the README's python
blocks), in a fresh `__main__` module.

The zygote holds no thread, event loop or open SQLite connection when it forks (it only has
imported modules, frozen out of the garbage collector's sight: `gc.freeze`): the child starts
from a state a fresh interpreter could be in after the same imports. Python reseeds `random`
in a forked child.

Run as a script, this file is the zygote: it serves requests on the socket whose descriptor
is its first argument. Imported, `Zygote` starts one and `Zygote.start` asks it for a child.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import locale
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

PRELOAD = (
    "mediagen.cli",
    "mediagen.cli.run_commands",
    "mediagen.cli.journal_commands",
    "mediagen.cli.progress",
    "mediagen.client",
    "mediagen.batch",
    "mediagen.journal",
    "mediagen.download",
    "mediagen.generated._catalog_ir",
    *(f"mediagen.plugins.{p}" for p in ("mediaio", "tomoviee", "edrawmax")),
    *(
        f"mediagen.generated.{p}.{m}"
        for p in ("mediaio", "tomoviee", "edrawmax")
        for m in ("endpoints", "models")
    ),
)
"""What the zygote imports before it forks: what the CLI's task commands import (measured
with `-X importtime`: about 0.7 s of CPU of a child's 0.8 s). Importing is all it does."""

MAX_REQUEST = 1 << 20


def _serve(control: socket.socket) -> dict[str, Any] | None:
    """Fork a child per request on `control` until the test closes it; returns the request
    in the child (which then runs it), None in the zygote when done."""
    children: dict[int, tuple[int, socket.socket]] = {}  # pidfd -> (pid, status socket)
    while True:
        ready, _, _ = select.select([control.fileno(), *children], [], [])
        for item in ready:
            if item == control.fileno():
                message, fds, _, _ = socket.recv_fds(control, MAX_REQUEST, 3)
                if not message:  # the test has closed its end: stop, and leave no child
                    for pid, _ in children.values():
                        os.kill(pid, signal.SIGKILL)
                        os.waitpid(pid, 0)
                    return None
                status, out, err = fds
                sys.stdout.flush()
                sys.stderr.flush()
                pid = os.fork()
                if pid == 0:
                    control.close()
                    for pidfd, (_, conn) in children.items():
                        os.close(pidfd)
                        conn.close()
                    os.dup2(out, 1)
                    os.dup2(err, 2)
                    for fd in (out, err, status):
                        os.close(fd)
                    request: dict[str, Any] = json.loads(message)
                    return request
                os.close(out)
                os.close(err)
                conn = socket.socket(fileno=status)
                conn.sendall(f"{pid}\n".encode())
                children[os.pidfd_open(pid)] = (pid, conn)
            else:
                pid, conn = children.pop(item)
                os.close(item)
                _, code = os.waitpid(pid, 0)
                conn.sendall(f"{os.waitstatus_to_exitcode(code)}\n".encode())
                conn.close()


def _zygote_main() -> None:
    for name in PRELOAD:
        importlib.import_module(name)
    assert threading.active_count() == 1, "the zygote must not fork with threads running"
    # What is imported stays out of the collector's sight: a child's first full collection
    # would otherwise walk (and so copy, page by page) the whole inherited heap, which took
    # 0.2 s of CPU of a `resume` child's 0.25 s; frozen, 0.05 s.
    gc.freeze()
    request = _serve(socket.socket(fileno=int(sys.argv[1])))
    if request is None:
        raise SystemExit(0)
    # In the child: become `python -m mediagen ARGS` (or `python -c CODE`) started in
    # request["cwd"].
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    if request.get("code") is not None:
        import types

        sys.path[0] = ""  # as `python -c` has it: the current folder
        sys.argv = ["-c"]
        main = types.ModuleType("__main__")
        sys.modules["__main__"] = main
        # dont_inherit: not this file's `from __future__` imports
        exec(compile(request["code"], "<string>", "exec", dont_inherit=True), main.__dict__)
        return
    import runpy

    sys.path[0] = request["cwd"]
    sys.argv = ["-m", *request["args"]]
    runpy.run_module("mediagen", run_name="__main__", alter_sys=True)


class ForkedProcess:
    """A child of the zygote, as the parts of `subprocess.Popen` a test uses: `pid`,
    `returncode` (negative: the signal that ended it), `poll`, `wait`, `send_signal`, `kill`,
    `terminate`."""

    def __init__(self, args: Sequence[str], status: socket.socket) -> None:
        self.args = list(args)
        self.returncode: int | None = None
        self._status = status
        self._buffer = b""
        self.pid = int(self._line())
        try:  # a handle on this very process, whatever happens to its pid once it is reaped
            self._pidfd: int | None = os.pidfd_open(self.pid)
        except ProcessLookupError:  # ended and reaped already
            self._pidfd = None

    def _line(self) -> str:
        while b"\n" not in self._buffer:
            chunk = self._status.recv(64)
            if not chunk:
                raise RuntimeError(f"the zygote went away while running {self.args}")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()

    def _settled(self, timeout: float | None) -> bool:
        if self.returncode is None:
            if b"\n" not in self._buffer and not select.select([self._status], [], [], timeout)[0]:
                return False
            self.returncode = int(self._line())
            self._status.close()
            if self._pidfd is not None:
                os.close(self._pidfd)
                self._pidfd = None
        return True

    def poll(self) -> int | None:
        self._settled(0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._settled(timeout):
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, sig: int) -> None:
        """Send `sig`, unless it has ended (as `Popen.send_signal`)."""
        if self.returncode is None and self._pidfd is not None:
            with contextlib.suppress(ProcessLookupError):  # ended meanwhile
                signal.pidfd_send_signal(self._pidfd, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class Zygote:
    """A zygote process (this file as a script) started with `env` (the test's environment
    when None); `start` forks CLI processes from it. Close it to stop it."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self._control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._lock = threading.Lock()
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115 (read when it fails)
        with theirs:
            self._process = subprocess.Popen(
                [sys.executable, __file__, str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                env=dict(os.environ if env is None else env),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=self._errors,
            )

    def start(
        self,
        *args: str,
        cwd: Path,
        env: Mapping[str, str],
        stdout: IO[bytes],
        stderr: IO[bytes],
        code: str | None = None,
    ) -> ForkedProcess:
        """`python -m mediagen ARGS` (`python -c CODE` when `code` is given) in `cwd` with
        exactly `env`, writing to the given files."""
        mine, theirs = socket.socketpair()
        request = {"args": list(args), "cwd": str(cwd), "env": dict(env), "code": code}
        with theirs, self._lock:
            fds = [theirs.fileno(), stdout.fileno(), stderr.fileno()]
            try:
                socket.send_fds(self._control, [json.dumps(request).encode()], fds)
            except OSError:
                raise RuntimeError(f"the zygote has stopped: {self._stderr()}") from None
        try:
            return ForkedProcess(args, mine)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}: {self._stderr()}") from None

    def _stderr(self) -> str:
        self._errors.seek(0)
        return self._errors.read().decode(errors="replace")[-2000:]

    def run(
        self,
        *args: str,
        cwd: Path,
        env: Mapping[str, str],
        timeout: float = 120.0,
        code: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """`start`, then wait: its exit status, stdout and stderr as text (as
        `subprocess.run(..., capture_output=True, text=True)` gives them)."""
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            proc = self.start(*args, cwd=cwd, env=env, stdout=out, stderr=err, code=code)
            try:
                status = proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise
            texts = []
            for file in (out, err):
                file.seek(0)
                data = file.read().decode(locale.getpreferredencoding(False))
                texts.append(data.replace("\r\n", "\n"))
        command = ["python", "-c", code] if code is not None else ["mediagen", *args]
        return subprocess.CompletedProcess(command, status, *texts)

    def close(self) -> None:
        self._control.close()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._errors.close()

    def __enter__(self) -> Zygote:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class OwnProcesses(Zygote):
    """`Zygote`'s interface, with a real `python -m mediagen` per command: where a zygote cannot
    run (no `os.pidfd_open`, which is Linux's)."""

    def __init__(self) -> None:
        pass

    def start(  # type: ignore[override]
        self,
        *args: str,
        cwd: Path,
        env: Mapping[str, str],
        stdout: IO[bytes],
        stderr: IO[bytes],
        code: str | None = None,
    ) -> subprocess.Popen[bytes]:
        command = _command(args, code)
        return subprocess.Popen(command, cwd=cwd, env=dict(env), stdout=stdout, stderr=stderr)

    def run(
        self,
        *args: str,
        cwd: Path,
        env: Mapping[str, str],
        timeout: float = 120.0,
        code: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        command = _command(args, code)
        return subprocess.run(
            command, cwd=cwd, env=dict(env), capture_output=True, text=True, timeout=timeout
        )

    def close(self) -> None:
        pass


def _command(args: Sequence[str], code: str | None) -> list[str]:
    if code is not None:
        return [sys.executable, "-c", code]
    return [sys.executable, "-m", "mediagen", *args]


def cli_processes(env: Mapping[str, str]) -> Zygote:
    """A zygote started with `env`, or `OwnProcesses` where none can run."""
    return Zygote(env) if hasattr(os, "pidfd_open") else OwnProcesses()


if __name__ == "__main__":
    _zygote_main()
