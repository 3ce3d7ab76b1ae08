"""The task journal: a SQLite file recording every task, so a crash never loses a paid one.

Before a submit, the intent (provider, operation, parameters) is written; then the task id,
every state change, the final result and the files downloaded. `mediagen resume` reads it back
to finish what a killed process left. Several processes may write at once (WAL mode, a busy
timeout, one short transaction per write). Credentials are never written: they are not
parameters, and the journal never sees request headers.

Journal states, beyond the task states (queued, running, succeeded, failed, cancelled,
timed_out):
    planned   recorded, not yet sent (a batch item waiting its turn): safe to submit
    pending   the submit is in flight; after a crash its outcome is unknown
    unknown   the submit's answer was lost: never resubmitted automatically
    rejected  the vendor refused the submit (no task exists)
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import cattrs

from .catalog.ir import TERMINAL_STATES
from .results import Result

log = logging.getLogger(__name__)

JOURNAL_ENV = "MEDIAGEN_JOURNAL"
UNFINISHED = ("planned", "pending", "queued", "running")
TERMINAL = (*TERMINAL_STATES, "rejected", "unknown")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    id INTEGER PRIMARY KEY,
    provider TEXT NOT NULL,
    operation TEXT NOT NULL,
    params TEXT NOT NULL,
    task_id TEXT,
    state TEXT NOT NULL,
    progress REAL,
    error TEXT,
    result TEXT,
    batch TEXT,
    item INTEGER,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    owner TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS tasks_by_vendor_id ON tasks (provider, task_id) WHERE task_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS tasks_by_state ON tasks (state);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    task INTEGER NOT NULL REFERENCES tasks (id),
    at REAL NOT NULL,
    state TEXT NOT NULL,
    progress REAL
);
CREATE TABLE IF NOT EXISTS files (
    task INTEGER NOT NULL REFERENCES tasks (id),
    url TEXT NOT NULL,
    path TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (task, url)
);
"""


@attrs.frozen
class Entry:
    id: int
    provider: str
    operation: str
    params: dict[str, Any]
    task_id: str | None
    state: str
    progress: float | None
    error: str | None
    result: Result | None
    batch: str | None
    item: int | None
    created_at: float
    updated_at: float
    files: tuple[tuple[str, str], ...] = ()
    """(url, path) of each file saved."""
    owner: str | None = None
    """pid@host of the process that wrote or claimed the entry."""

    @property
    def owned_by_a_live_process(self) -> bool:
        """Another process still running on this machine is working on this entry."""
        return owner_alive(self.owner)

    @property
    def qualified_operation(self) -> str:
        return f"{self.provider}.{self.operation}"


OWNER = f"{os.getpid()}@{socket.gethostname()}"
"""This process, as recorded on the entries it writes or claims."""


def owner_alive(owner: str | None) -> bool:
    """Whether `owner` (pid@host) is another process alive on this machine. An owner on another
    machine cannot be checked from here and counts as alive: better to skip than to double."""
    if not owner or owner == OWNER:
        return False
    pid_text, _, host = owner.partition("@")
    if host != socket.gethostname():
        return True
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError, OverflowError):
        return True
    return True


def default_path() -> Path:
    import platformdirs

    return platformdirs.user_data_path("mediagen", appauthor=False) / "tasks.sqlite3"


def configured_path(explicit: str | Path | None = None) -> Path | None:
    """The journal file to use: an explicit path, else $MEDIAGEN_JOURNAL ("off" disables), else
    the user data directory."""
    if explicit is not None:
        return Path(explicit)
    env = os.environ.get(JOURNAL_ENV)
    if env is not None:
        return None if env.strip().lower() in ("", "off", "none", "0") else Path(env)
    return default_path()


class Journal:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            self.path, timeout=30, isolation_level=None, check_same_thread=False
        )
        # One connection may serve several threads (clients on their own loop threads): every
        # use of it holds this lock, so transactions never interleave.
        self._lock = threading.RLock()
        self._db.row_factory = sqlite3.Row
        self._setup()

    def _setup(self) -> None:
        """WAL mode and the schema. Processes opening a new file at the same moment can meet
        SQLITE_BUSY where SQLite skips the busy handler (switching the journal mode): retry."""
        for attempt in range(100):
            try:
                self._db.execute("PRAGMA journal_mode = WAL")
                self._db.execute("PRAGMA synchronous = NORMAL")  # WAL: durable across crashes
                self._db.executescript(_SCHEMA)  # idempotent; commits on its own
                columns = {r[1] for r in self._db.execute("PRAGMA table_info(tasks)")}
                if "owner" not in columns:  # a journal written before owners were recorded
                    self._db.execute("ALTER TABLE tasks ADD COLUMN owner TEXT")
                return
            except sqlite3.OperationalError as exc:
                if ("locked" not in str(exc) and "busy" not in str(exc)) or attempt == 99:
                    raise
                time.sleep(0.05)

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r})"

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # -- writes -------------------------------------------------------------------------------

    def record_intent(
        self,
        provider: str,
        operation: str,
        params: dict[str, Any],
        *,
        state: str = "pending",
        batch: str | None = None,
        item: int | None = None,
    ) -> int:
        now = time.time()
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO tasks (provider, operation, params, state, batch, item, created_at,"
                " updated_at, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    provider,
                    operation,
                    json.dumps(params, sort_keys=True),
                    state,
                    batch,
                    item,
                    now,
                    now,
                    OWNER,
                ),
            )
            entry_id = int(cur.lastrowid or 0)
            db.execute(
                "INSERT INTO events (task, at, state) VALUES (?, ?, ?)", (entry_id, now, state)
            )
        return entry_id

    def claim(self, entry_id: int) -> bool:
        """planned -> pending, atomically: only one process may submit a planned entry."""
        now = time.time()
        with self._tx() as db:
            cur = db.execute(
                "UPDATE tasks SET state = 'pending', updated_at = ?, owner = ?"
                " WHERE id = ? AND state = 'planned'",
                (now, OWNER, entry_id),
            )
            if cur.rowcount != 1:
                return False
            db.execute(
                "INSERT INTO events (task, at, state) VALUES (?, ?, 'pending')", (entry_id, now)
            )
        return True

    def record_submitted(self, entry_id: int, task_id: str) -> None:
        self._set(entry_id, state="queued", task_id=task_id)

    def record_rejected(self, entry_id: int, error: str) -> None:
        self._set(entry_id, state="rejected", error=error)

    def record_unknown(self, entry_id: int, error: str) -> None:
        self._set(entry_id, state="unknown", error=error)

    def record_state(self, entry_id: int, state: str, progress: float | None) -> None:
        self._set(entry_id, state=state, progress=progress)

    def record_result(self, entry_id: int, result: Result) -> None:
        self._set(entry_id, state="succeeded", progress=100.0, result=_dump_result(result))

    def record_failure(self, entry_id: int, state: str, error: str) -> None:
        self._set(entry_id, state=state, error=error)

    def record_files(self, entry_id: int, files: Sequence[tuple[str, str]]) -> None:
        now = time.time()
        with self._tx() as db:
            db.executemany(
                "INSERT OR REPLACE INTO files (task, url, path, at) VALUES (?, ?, ?, ?)",
                [(entry_id, url, path, now) for url, path in files],
            )

    def adopt(self, provider: str, operation: str, task_id: str) -> int:
        """The entry of a task known only by id (resumed from elsewhere); created if new, in
        one transaction, so two processes adopting the same id share one entry."""
        now = time.time()
        with self._tx() as db:
            row = db.execute(
                "SELECT id FROM tasks WHERE provider = ? AND task_id = ?", (provider, task_id)
            ).fetchone()
            if row is not None:
                return int(row["id"])
            cur = db.execute(
                "INSERT INTO tasks (provider, operation, params, task_id, state, created_at,"
                " updated_at, owner) VALUES (?, ?, '{}', ?, 'queued', ?, ?, ?)",
                (provider, operation, task_id, now, now, OWNER),
            )
            entry_id = int(cur.lastrowid or 0)
            db.execute(
                "INSERT INTO events (task, at, state) VALUES (?, ?, 'queued')", (entry_id, now)
            )
        return entry_id

    def _set(self, entry_id: int, **fields: Any) -> None:
        now = time.time()
        columns = ", ".join(f"{k} = ?" for k in fields)
        with self._tx() as db:
            db.execute(
                f"UPDATE tasks SET {columns}, updated_at = ? WHERE id = ?",
                (*fields.values(), now, entry_id),
            )
            if "state" in fields:
                db.execute(
                    "INSERT INTO events (task, at, state, progress) VALUES (?, ?, ?, ?)",
                    (entry_id, now, fields["state"], fields.get("progress")),
                )

    # -- reads --------------------------------------------------------------------------------

    def get(self, entry_id: int) -> Entry:
        rows = self._read("SELECT * FROM tasks WHERE id = ?", (entry_id,))
        if not rows:
            raise KeyError(entry_id)
        return self._entry(rows[0])

    def find(self, provider: str, task_id: str) -> Entry | None:
        rows = self._read(
            "SELECT * FROM tasks WHERE provider = ? AND task_id = ?", (provider, task_id)
        )
        return self._entry(rows[0]) if rows else None

    def entries(
        self, *, states: Sequence[str] | None = None, batch: str | None = None
    ) -> list[Entry]:
        sql = "SELECT * FROM tasks"
        args: list[Any] = []
        where = []
        if states:
            where.append(f"state IN ({', '.join('?' * len(states))})")
            args.extend(states)
        if batch is not None:
            where.append("batch = ?")
            args.append(batch)
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [self._entry(r) for r in self._read(sql + " ORDER BY id", args)]

    def events(self, entry_id: int) -> list[tuple[str, float | None]]:
        rows = self._read(
            "SELECT state, progress FROM events WHERE task = ? ORDER BY id", (entry_id,)
        )
        return [(r["state"], r["progress"]) for r in rows]

    def _entry(self, row: sqlite3.Row) -> Entry:
        files = self._read(
            "SELECT url, path FROM files WHERE task = ? ORDER BY at, url", (row["id"],)
        )
        return Entry(
            id=row["id"],
            provider=row["provider"],
            operation=row["operation"],
            params=json.loads(row["params"]),
            task_id=row["task_id"],
            state=row["state"],
            progress=row["progress"],
            error=row["error"],
            result=_load_result(row["result"]),
            batch=row["batch"],
            item=row["item"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            files=tuple((r["url"], r["path"]) for r in files),
            owner=row["owner"],
        )


# Results are stored as JSON through cattrs: attrs classes in, plain data out, and back.
_converter = cattrs.Converter()


def _dump_result(result: Result) -> str:
    return json.dumps(_converter.unstructure(result), default=str)


def _load_result(text: str | None) -> Result | None:
    """A stored result; one that no longer reads (a plugin's odd artifact kind, a hand edit)
    is logged and skipped, so one row never makes the whole journal unreadable."""
    if not text:
        return None
    try:
        return _converter.structure(json.loads(text), Result)
    except Exception:
        log.warning("a stored result in the task journal could not be read; skipped", exc_info=True)
        return None
