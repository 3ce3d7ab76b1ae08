"""The task journal: a SQLite file recording every task, so a crash never loses a paid one.

Before a submit, the intent (provider, operation, parameters) is written; then the task id,
every state change, the final result and the files downloaded. `mediagen resume` reads it back
to finish what a killed process left. Several processes may write at once (WAL mode, a busy
timeout, short transactions). Credentials are never written: they are not parameters, and the
journal never sees request headers.

Durability: a commit in WAL mode with synchronous=NORMAL survives a killed process (not a power
cut). The engine's writes are queued and committed in batches, one transaction for whatever
queued meanwhile (`commit`, `defer`): an intent and a task id are awaited until committed (an
intent before its submit is sent, a task id before its handle is returned); a state change or
a task's result is committed within JOURNAL_FLUSH_DELAY, with the next batch. A write awaited
alone is committed at once on the caller's thread (with what is queued before it); a batch that
comes due is committed by the journal's writer thread, so an event loop never waits on SQLite
for it (`Journal.drain`, called when a client closes, commits what is left and ends the
thread). Every read and direct write commits what is queued first, so this process always
reads its own writes.

Journal states, beyond the task states (queued, running, succeeded, failed, cancelled,
timed_out):
    planned   recorded, not yet sent (a batch item waiting its turn): safe to submit
    pending   the submit is in flight; after a crash its outcome is unknown
    unknown   the submit's answer was lost: never resubmitted automatically
    rejected  the vendor refused the submit (no task exists)

Each entry records its owner: the process working on it (see `mediagen.ownership`). Another
process may take an entry over only when that owner is provably gone (`Journal.take`).

A task is keyed on (provider, origin, task_id): `origin` is the base URL it was submitted to,
NULL meaning the catalog's default, so two vendor stand-ins issuing the same id never clash.
A batch item may carry an idempotency key (`item_key`) so a re-run of the same batch finds it.
"""

from __future__ import annotations

import contextlib
import functools
import json
import operator
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

import attrs

from .defaults import JOURNAL_BATCH_LIMIT, JOURNAL_COMMIT_WINDOW, JOURNAL_FLUSH_DELAY
from .journal_states import TERMINAL as TERMINAL
from .journal_states import UNFINISHED as UNFINISHED
from .lazy_logging import get_logger
from .ownership import Liveness, OwnerLock, liveness
from .results import Artifact, ArtifactKind, Result

if TYPE_CHECKING:  # imported when used: `mediagen tasks` needs neither an event loop nor cattrs
    import asyncio

    import cattrs

log = get_logger(__name__)

_Db = sqlite3.Connection | sqlite3.Cursor
"""What a write runs its statements through (both have `execute` and `executemany`)."""

JOURNAL_ENV = "MEDIAGEN_JOURNAL"

_monotonic = time.monotonic

_TABLES = """
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
    owner TEXT,
    origin TEXT,
    item_key TEXT,
    output TEXT
);
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

# Columns added since the first release, for journals written before them.
_ADDED_COLUMNS = ("owner", "origin", "item_key", "output")

_TASK_COLUMNS = (
    "provider, operation, params, state, batch, item, created_at, updated_at, owner, origin,"
    " item_key, output"
)
_COLUMNS = tuple(_TASK_COLUMNS.split(", "))
_NULLABLE = (4, 5, 9, 10, 11)
"""The intent row's columns that are often None (batch, item, origin, item_key, output)."""
_INTENT_INSERTS: dict[tuple[bool, ...], tuple[str, str, Callable[[tuple[Any, ...]], Any]]] = {}
"""An intent's INSERT statements (without and with its id) by which of `_NULLABLE` are None,
and what picks the rest out of its row, built once each."""


def _intent_insert(row: tuple[Any, ...]) -> tuple[str, str, Callable[[tuple[Any, ...]], Any]]:
    """The INSERT of an intent's tasks row (`_intent_row`) with its None columns left out of
    the statement: they are NULL all the same, and sqlite3 binds a None only after looking for
    an adapter for it (about as costly as the rest of the INSERT's binding). (statement,
    statement with the id first, the picker of the row's values it binds)."""
    key = (row[4] is None, row[5] is None, row[9] is None, row[10] is None, row[11] is None)
    known = _INTENT_INSERTS.get(key)
    if known is None:
        null = {i for i, none in zip(_NULLABLE, key, strict=True) if none}
        keep = [i for i in range(len(_COLUMNS)) if i not in null]
        columns = ", ".join(_COLUMNS[i] for i in keep)
        pick: Callable[[tuple[Any, ...]], Any] = operator.itemgetter(*keep)
        known = _INTENT_INSERTS[key] = (
            f"INSERT INTO tasks ({columns}) VALUES ({', '.join('?' * len(keep))})",
            f"INSERT INTO tasks (id, {columns}) VALUES ({', '.join('?' * (len(keep) + 1))})",
            pick,
        )
    return known


def _insert_intent(db: _Db, row: tuple[Any, ...]) -> int:
    """Insert an intent's tasks row (see `_intent_insert`) and its first event; its entry id."""
    sql, _, pick = _intent_insert(row)
    entry_id = int(db.execute(sql, pick(row)).lastrowid or 0)
    db.execute(_INTENT_EVENT, _intent_event(entry_id, row))
    return entry_id


_INSERT_ALL = f"INSERT INTO tasks (id, {_TASK_COLUMNS}) VALUES ({', '.join('?' * 13)})"
_INTENT_EVENT = "INSERT INTO events (task, at, state) VALUES (?, ?, ?)"
_EVENT = "INSERT INTO events (task, at, state, progress) VALUES (?, ?, ?, ?)"
_SUBMITTED = "UPDATE tasks SET state = 'queued', task_id = ?, updated_at = ? WHERE id = ?"
_QUEUED_EVENT = "INSERT INTO events (task, at, state, progress) VALUES (?, ?, 'queued', NULL)"


def _intent_event(entry_id: int, row: tuple[Any, ...]) -> tuple[Any, ...]:
    """The first event of an intent's entry, from its tasks row: (task, created_at, state)."""
    return (entry_id, row[6], row[3])


_UPDATES: dict[tuple[str, ...], str] = {}
"""UPDATE statements by the columns they set (see `_update_sql`), built once each."""


def _update_sql(columns: tuple[str, ...]) -> str:
    sql = _UPDATES.get(columns)
    if sql is None:
        assigned = ", ".join(f"{c} = ?" for c in columns)
        sql = _UPDATES[columns] = f"UPDATE tasks SET {assigned}, updated_at = ? WHERE id = ?"
    return sql


_NOT_SUCCEEDED = "state != 'succeeded'"
"""The partial state index's condition: a query must say it word for word to use the index
(SQLite's rule for partial indexes), so `entries` adds it when no succeeded entry is asked for.
Succeeded entries, most of a journal, are read by scans that would read most of it anyway."""

_INDEXES = (
    # Replaced by tasks_by_origin_and_vendor_id: ids are unique per vendor host, not per vendor.
    "DROP INDEX IF EXISTS tasks_by_vendor_id",
    "CREATE UNIQUE INDEX IF NOT EXISTS tasks_by_origin_and_vendor_id"
    " ON tasks (provider, IFNULL(origin, ''), task_id) WHERE task_id IS NOT NULL",
    # Replaced by tasks_by_state_but_succeeded: succeeded entries, most of a journal, left
    # out, so a task's state changes write one small index page per commit, not also the far
    # end of a large index (a page written per call; a journal from before migrates here).
    "DROP INDEX IF EXISTS tasks_by_state",
    f"CREATE INDEX IF NOT EXISTS tasks_by_state_but_succeeded ON tasks (state) WHERE {_NOT_SUCCEEDED}",
    "CREATE INDEX IF NOT EXISTS tasks_by_item_key ON tasks (item_key) WHERE item_key IS NOT NULL",
)


@attrs.frozen
class Entry:
    id: int
    provider: str
    operation: str
    params: dict[str, Any]
    """The parameters; {} when the stored text is unreadable (see `params_error`)."""
    task_id: str | None
    state: str
    progress: float | None
    error: str | None
    result: Result | None
    batch: str | None
    item: int | None
    created_at: float | None
    """None when the stored value is not a number (see `row_error`); so is updated_at."""
    updated_at: float | None
    files: tuple[tuple[str, str], ...] = ()
    """(url, path) of each file saved; a diagram's source file, written from the result, has
    its key (`mediagen.download.source_keys`) in place of a URL."""
    owner: str | None = None
    """pid@host/token of the process that wrote or claimed the entry (see mediagen.ownership)."""
    origin: str | None = None
    """The base URL the task was submitted to; None: the provider's catalog default."""
    item_key: str | None = None
    """A batch item's idempotency key (see mediagen.batch.item_keys)."""
    output: str | None = None
    """The folder the submitting command meant to download into (absolute), or None: nobody
    asked for files, and `resume` leaves them alone."""
    raw_params: str = "{}"
    """The parameters as stored."""
    params_error: str | None = None
    """Why the stored parameters could not be read, if they could not."""
    row_error: str | None = None
    """What else in the row could not be read (a timestamp that is not a number, a state
    mediagen does not know), if anything; such a column reads as None."""

    @property
    def qualified_operation(self) -> str:
        return f"{self.provider}.{self.operation}"


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


class JournalUnreadableError(OSError):
    """A journal that cannot be opened for reading."""


class Journal:
    """The journal file at `path`, created if missing. `read_only=True` opens an existing file
    without writing anything (no lock files, no -shm when its folder is read-only either), for
    commands that only list."""

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._owner = OwnerLock(self.path)
        # One connection may serve several threads (clients on their own loop threads, the
        # writer thread): every use of it holds this lock, so transactions never interleave.
        self._lock = threading.RLock()
        # The queue has its own short-held lock: queueing a write never waits for a commit.
        self._qlock = threading.Lock()
        self._batching: int | None = None
        """The thread whose batch transaction is open, if one is."""
        self._at: float | None = None
        """When the queued write being committed was made: its timestamp."""
        self._queued: list[_Queued] = []
        """Writes waiting for the next batch, in order (under `_qlock`; taken from its front
        only under `_lock`, so batches commit in the order their writes were made)."""
        self._callers = 0
        """Submits in progress (see `caller`)."""
        self._flushes: dict[asyncio.AbstractEventLoop, tuple[asyncio.Handle, float]] = {}
        """The batch commit each loop has scheduled, and when (loop time; 0: at once), under
        `_qlock`."""
        self._writer: _Writer | None = None
        """The thread committing batches off the event loop, started with the first one."""
        self._caller = _Caller(self)
        self._my_name: str | None = None
        """`_me()` once the owner lock is taken (dropped with it)."""
        self._closed = False
        if read_only:
            self._db = _connect_read_only(self.path)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
        self._db.row_factory = sqlite3.Row
        self._cursor = self._db.cursor()
        """The cursor the engine's writes run through (the connection's `execute` makes one
        per statement)."""
        self._in_batch = contextlib.nullcontext(self._db)
        self._db.text_factory = _text  # a TEXT cell with invalid UTF-8 (a hand edit) still reads
        if not read_only:
            self._setup()

    def _setup(self) -> None:
        """WAL mode, the schema and its migrations. Processes opening a new file at the same
        moment can meet SQLITE_BUSY where SQLite skips the busy handler (switching the journal
        mode): retry."""
        for attempt in range(100):
            try:
                self._db.execute("PRAGMA journal_mode = WAL")
                self._db.execute("PRAGMA synchronous = NORMAL")  # WAL: durable across crashes
                self._db.executescript(_TABLES)  # idempotent; commits on its own
                with self._tx() as db:  # one process migrates; the others then see it done
                    columns = {r[1] for r in db.execute("PRAGMA table_info(tasks)")}
                    for column in _ADDED_COLUMNS:
                        if column not in columns:
                            db.execute(f"ALTER TABLE tasks ADD COLUMN {column} TEXT")
                    for statement in _INDEXES:
                        db.execute(statement)
                return
            except sqlite3.OperationalError as exc:
                if ("locked" not in str(exc) and "busy" not in str(exc)) or attempt == 99:
                    raise
                time.sleep(0.05)

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r})"

    def close(self) -> None:
        """Commit what is queued, close the file and drop this process's owner lock: its
        unfinished entries are free."""
        self._closed = True
        self.drain()
        with self._lock:
            self.flush()
            self._db.close()
        self._my_name = None
        self._owner.release()

    def _tx(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """The transaction a write runs in: its batch's, for a queued write being committed
        (joined, not nested), else its own."""
        if self._batching == threading.get_ident():
            return self._in_batch
        return self._own_tx()

    @contextmanager
    def _own_tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._flush_queued()  # what was queued before this write lands before it
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            _commit(self._db)

    def _read(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            self._flush_queued()  # a reader sees every write queued before it
            return self._db.execute(sql, [_sql(a) for a in args]).fetchall()

    # -- batched writes ---------------------------------------------------------------------

    def commit(self, write: str, *args: Any, **kwargs: Any) -> asyncio.Future[Any]:
        """Queue `write` (the name of a write method: record_intent, record_submitted, ...) with
        its arguments, for the running loop's next batch, committed as soon as the loop has run
        what is ready now (so writes from many tasks share one transaction). The future holds
        the method's return value once committed, or its exception; cancelling it (or a task
        awaiting it) does not cancel the write: the future settles when the write is committed
        or fails, and a cancelled waiter sees its CancelledError then."""
        import asyncio

        loop = asyncio.get_running_loop()
        if self._callers > 1:
            return self._commit_later(loop, write, args, kwargs)
        future = _committed_future()(loop=loop)
        try:
            future.set_result(self._commit_alone(write, args, kwargs))
        except Exception as exc:
            future.set_exception(exc)
        return future

    def commit_now(
        self, write: str, *args: Any, **kwargs: Any
    ) -> tuple[Any, asyncio.Future[Any] | None]:
        """`commit`, for a caller that can take the value at once: (value, None) when the write
        was committed inline (a write alone: nobody to share a transaction with; its failure
        raises here), else (None, the future of the batch it waits for)."""
        if self._callers > 1:  # every batched intent and task id
            import asyncio

            return None, self._commit_later(asyncio.get_running_loop(), write, args, kwargs)
        return self._commit_alone(write, args, kwargs), None

    def _commit_later(
        self,
        loop: asyncio.AbstractEventLoop,
        write: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> asyncio.Future[Any]:
        """Among other submits: a short window first, so that the writes of many tasks share
        one transaction."""
        future = _committed_future()(loop=loop)
        self._queue(
            loop, _Queued(write, args, kwargs, time.time(), future, loop), JOURNAL_COMMIT_WINDOW
        )
        return future

    def _commit_alone(self, write: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Commit `write` at once, inline, with what is queued before it (state changes,
        results) in the same transaction: one commit instead of this one now and theirs a
        little later. Its return value, or its exception."""
        at = time.time()
        with self._lock:
            with self._qlock:
                queue = self._queued
                if not queue:
                    taken: list[_Queued] | None = []
                elif len(queue) < JOURNAL_BATCH_LIMIT:
                    taken = queue[:]
                    queue.clear()
                elif args and any(w.args[:1] == args[:1] for w in queue):
                    taken = None  # this entry's earlier writes are queued: all of it first
                else:  # a long queue (other entries') is left to its batches
                    taken = []
            if taken is None:
                self._flush_queued()
                taken = []
            last = (write, args, kwargs, at)
            try:
                values, value = self._transaction(taken, last)
            except Exception:
                if not taken:
                    raise
                # One bad write spoils no other: each queued one on its own, then this one.
                for queued in taken:
                    self._flush_one(queued)
                return self._transaction((), last)[1]
        if taken:
            waited = [(w, True, v) for w, v in zip(taken, values, strict=True) if w.future]
            if waited:
                _settle_all(waited)
        return value

    def caller(self) -> contextlib.AbstractContextManager[None]:
        """Marks a submit in progress (from its intent to its task id), so that `commit` knows
        whether other tasks' writes may come to share its transaction."""
        return self._caller

    def defer(self, write: str, *args: Any, **kwargs: Any) -> None:
        """Queue `write` like `commit`, for nobody to wait on: it is committed with the next
        batch, within JOURNAL_FLUSH_DELAY. A failure is logged. Without a running loop it is
        written at once."""
        import asyncio

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            with self._lock:
                with self._qlock:
                    self._queued.append(_Queued(write, args, kwargs, time.time()))
                self._flush_queued()
            return
        self._queue(loop, _Queued(write, args, kwargs, time.time()), JOURNAL_FLUSH_DELAY)

    def flush(self) -> None:
        """Commit every queued write now."""
        with self._lock:
            self._flush_queued()
            with self._qlock:
                for loop in [loop for loop in self._flushes if loop.is_closed()]:
                    del self._flushes[loop]  # scheduled on a loop that ended: nothing to run it

    def drain(self) -> None:
        """Commit every queued write and stop the writer thread (started again by the next
        batch): what closing a client does, so no thread outlives it."""
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.stop()
        self.flush()

    def _queue(self, loop: asyncio.AbstractEventLoop, write: _Queued, delay: float) -> None:
        """Queue `write` for a batch committed within `delay` seconds, scheduling the loop's
        batch timer unless one comes soon enough. Due times are `time.monotonic()` (asyncio's
        own loop clock; read without a call to `loop.time()` on every write)."""
        due = write.due = _monotonic() + delay
        with self._qlock:
            self._queued.append(write)
            scheduled = self._flushes.get(loop)
            if scheduled is not None:
                if scheduled[1] <= due:
                    return  # a batch that commits soon enough is coming
                scheduled[0].cancel()
            self._flushes[loop] = (
                (loop.call_later(delay, self._flush_for, loop), due)
                if delay
                else (loop.call_soon(self._flush_for, loop), 0.0)
            )

    def _flush_for(self, loop: asyncio.AbstractEventLoop) -> None:
        """A loop's batch is due: the writer thread commits it, so the loop never waits on
        SQLite for a batch (an awaited write among them is settled on its loop once committed)."""
        with self._qlock:
            self._flushes.pop(loop, None)
            queue = self._queued
            if not queue:
                return
            now = _monotonic()
            if not any(w.due <= now for w in queue):  # queued since a commit took the rest
                due = min(w.due for w in queue)
                handle = loop.call_later(due - now, self._flush_for, loop)
                self._flushes[loop] = (handle, due)
                return
        writer = self._writer
        if self._closed:  # no thread outlives close(): this write fails here, and says so
            self.flush()
            return
        if writer is None or not writer.alive():
            writer = self._writer = _Writer(self._drain_queue, f"mediagen journal {self.path.name}")
        writer.wake()

    def _drain_queue(self) -> None:
        """The writer thread's work: commit what is queued, one bounded batch per transaction,
        letting the loops in (to queue, read or write alone) between batches."""
        while True:
            with self._lock:
                if not self._queued:
                    return
                self._flush_batch()

    def _flush_queued(self) -> None:
        while self._queued:
            self._flush_batch()

    def _flush_batch(self) -> None:
        """Commit up to JOURNAL_BATCH_LIMIT queued writes in one transaction (the caller holds
        `_lock`); when one of them fails, each is committed again on its own, so one bad write
        spoils no other."""
        with self._qlock:
            batch = self._queued[:JOURNAL_BATCH_LIMIT]
            del self._queued[:JOURNAL_BATCH_LIMIT]
        if len(batch) == 1:
            self._flush_one(batch[0])
            return
        try:
            values = self._in_one_tx(batch)
        except Exception:
            for write in batch:
                self._flush_one(write)
            return
        _settle_all([(write, True, value) for write, value in zip(batch, values, strict=True)])

    def _flush_one(self, write: _Queued) -> None:
        try:
            (value,) = self._in_one_tx((write,))
        except Exception as exc:
            if not write.settle(False, exc):
                log.error(
                    "could not write to the task journal %s (%s)",
                    self.path,
                    write.name,
                    exc_info=exc,
                )
            return
        write.settle(True, value)

    def _in_one_tx(self, writes: Sequence[_Queued]) -> list[Any]:
        """Run queued writes in one transaction, each stamped with the time it was made; their
        return values, once committed."""
        with self._lock:
            return self._transaction(writes)[0]

    def _transaction(
        self,
        writes: Sequence[_Queued],
        last: tuple[str, tuple[Any, ...], dict[str, Any], float] | None = None,
    ) -> tuple[list[Any], Any]:
        """Queued `writes` (in order), then `last` (a write's name, arguments and time) if
        given, in one transaction through the kept cursor (the caller holds `_lock`): their
        return values and `last`'s, once committed; rolled back if any fails."""
        db = self._db
        cursor = self._cursor
        cursor.execute("BEGIN IMMEDIATE")
        try:
            if len(writes) == 1:  # the usual inline case: the previous call's result
                write = writes[0]
                values = [self._apply(cursor, write.name, write.args, write.kwargs, write.at)]
            else:
                values = self._apply_all(cursor, writes) if writes else []
            value = self._apply(cursor, *last) if last is not None else None
        except BaseException:
            if db.in_transaction:
                cursor.execute("ROLLBACK")
            raise
        finally:
            self._batching = self._at = None
        _commit(db, cursor)
        return values, value

    def _apply_all(self, db: _Db, writes: Sequence[_Queued]) -> list[Any]:
        """Queued writes, in the open transaction; their return values. A run of the same
        intent or column-setting write goes in one executemany per statement."""
        values: list[Any] = []
        start, count = 0, len(writes)
        while start < count:
            write = writes[start]
            name = write.name
            end = start + 1
            if name in _GROUPED:
                while end < count and writes[end].name == name:
                    end += 1
            if end - start > 1:
                values.extend(self._grouped(db, name, writes[start:end]))
            else:
                values.append(self._apply(db, name, write.args, write.kwargs, write.at))
            start = end
        return values

    def _apply(
        self,
        db: _Db,
        name: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        at: float,
    ) -> Any:
        """One write (`name`: a write method's), made at `at`, in the open transaction: the
        engine's writes as their methods make them, without the methods' own transaction."""
        if name == "record_intent":
            row = self._intent_row(at, *args, **kwargs)
            entry_id = _insert_intent(db, row)
            return entry_id
        if name == "record_submitted" and not kwargs and len(args) == 2:
            entry_id, task_id = args
            self._submitted(db, entry_id, task_id, at)
            return None
        fields_of = _FIELDS.get(name)
        if fields_of is None or name == "record_submitted":
            # Any other write through its method: it joins this transaction (see `_tx`),
            # stamped `at` (both reset when the transaction ends).
            self._batching = threading.get_ident()
            self._at = at
            return getattr(self, name)(*args, **kwargs)
        entry_id, fields = fields_of(*args, **kwargs)
        db.execute(_update_sql(tuple(fields)), (*fields.values(), at, entry_id))
        db.execute(_EVENT, (entry_id, at, fields["state"], fields.get("progress")))
        return None

    def _grouped(self, db: _Db, name: str, writes: Sequence[_Queued]) -> list[Any]:
        """Several queued writes of one kind (see `_GROUPED`), the same rows as one by one."""
        if name == "record_intent":
            rows = [self._intent_row(w.at, *w.args, **w.kwargs) for w in writes]
            # Under BEGIN IMMEDIATE nobody else inserts: these are the ids SQLite would pick.
            top = db.execute("SELECT IFNULL(MAX(id), 0) FROM tasks").fetchone()[0]
            ids = list(range(top + 1, top + 1 + len(rows)))
            _, sql, pick = _intent_insert(rows[0])
            if all(_intent_insert(row)[1] is sql for row in rows):  # the usual: all alike
                values = [(i, *pick(row)) for i, row in zip(ids, rows, strict=True)]
            else:
                sql, values = _INSERT_ALL, [(i, *row) for i, row in zip(ids, rows, strict=True)]
            db.executemany(sql, values)
            db.executemany(
                _INTENT_EVENT, [_intent_event(i, row) for i, row in zip(ids, rows, strict=True)]
            )
            return ids
        fields_of = _FIELDS[name]
        updates: list[tuple[Any, ...]] = []
        events: list[tuple[Any, ...]] = []
        names: tuple[str, ...] = ()
        for write in writes:
            entry_id, fields = fields_of(*write.args, **write.kwargs)
            names = tuple(fields)
            updates.append((*fields.values(), write.at, entry_id))
            events.append((entry_id, write.at, fields["state"], fields.get("progress")))
        db.executemany(_update_sql(names), updates)
        db.executemany(_EVENT, events)
        return [None] * len(writes)

    def _time(self) -> float:
        """Now, or when the queued write being committed was made."""
        return time.time() if self._at is None else self._at

    # -- ownership ----------------------------------------------------------------------------

    @property
    def owner(self) -> str:
        """This journal connection's owner name, as written on the entries it works on."""
        return self._owner.name

    def _me(self) -> str:
        """The owner name to write on an entry, its lock taken first (once: see `OwnerLock`)."""
        me = self._my_name
        if me is None:
            me = self._my_name = self._owner.acquire()
        return me

    def liveness(self, entry: Entry) -> Liveness:
        """Whether another live process works on `entry` (see mediagen.ownership)."""
        return liveness(self.path, entry.owner, self.owner, entry.updated_at)

    def held_elsewhere(self, entry: Entry, *, force: bool = False) -> bool:
        """Another live process holds `entry`; with force, only one provably alive on this
        host counts (an owner recorded on another host, or an old-style owner that holds no
        lock, is taken over)."""
        state = self.liveness(entry)
        return state == "alive_here" or (state != "free" and not force)

    def take(self, entry: Entry) -> bool:
        """Make this process the owner of `entry`, atomically: only if its owner is still the
        one `entry` shows (nobody took it since it was read). The caller checks first that
        that owner is gone (`held_elsewhere`)."""
        with self._tx() as db:
            cur = db.execute(
                "UPDATE tasks SET owner = ? WHERE id = ? AND owner IS ?",
                (self._me(), entry.id, entry.owner),
            )
            return cur.rowcount == 1

    def release(self, entry_ids: Iterable[int]) -> None:
        """Give up ownership of entries this process holds, so others may take them at once."""
        with self._tx() as db:
            db.executemany(
                "UPDATE tasks SET owner = NULL WHERE id = ? AND owner = ?",
                [(i, self.owner) for i in entry_ids],
            )

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
        origin: str | None = None,
        item_key: str | None = None,
        output: str | None = None,
    ) -> int:
        row = self._intent_row(
            self._time(),
            provider,
            operation,
            params,
            state=state,
            batch=batch,
            item=item,
            origin=origin,
            item_key=item_key,
            output=output,
        )
        with self._tx() as db:
            entry_id = _insert_intent(db, row)
        return entry_id

    def _intent_row(
        self,
        now: float,
        provider: str,
        operation: str,
        params: dict[str, Any],
        *,
        state: str = "pending",
        batch: str | None = None,
        item: int | None = None,
        origin: str | None = None,
        item_key: str | None = None,
        output: str | None = None,
    ) -> tuple[Any, ...]:
        """The tasks row of an intent, in `_TASK_COLUMNS`' order. The parameters' JSON
        is ASCII (escaped) and the state one of ours: only the other text may need `_sql`."""
        me = self._me()
        return (
            provider if provider.isascii() else _sql(provider),
            operation if operation.isascii() else _sql(operation),
            _params_json(params),
            state,
            batch if batch is None else _sql(batch),
            item,
            now,
            now,
            me if me.isascii() else _sql(me),
            origin if origin is None else _sql(origin),
            item_key if item_key is None else _sql(item_key),
            output if output is None else _sql(output),
        )

    def claim(self, entry_id: int, *, origin: str | None = None) -> bool:
        """planned -> pending, atomically: only one process may submit a planned entry.
        `origin` is where it is about to be sent (None: the catalog default)."""
        now = self._time()
        with self._tx() as db:
            cur = db.execute(
                "UPDATE tasks SET state = 'pending', updated_at = ?, owner = ?, origin = ?"
                " WHERE id = ? AND state = 'planned'",
                (now, self._me(), _sql(origin), entry_id),
            )
            if cur.rowcount != 1:
                return False
            db.execute(
                "INSERT INTO events (task, at, state) VALUES (?, ?, 'pending')", (entry_id, now)
            )
        return True

    def record_submitted(self, entry_id: int, task_id: str) -> None:
        """The vendor created task `task_id` for this entry. If an older entry holds the same
        id at the same origin, the vendor has issued it again (a restarted stand-in): the id
        now names this task, and the older entry is told so rather than this write failing."""
        now = self._time()
        with self._tx() as db:
            self._submitted(db, entry_id, task_id, now)

    def _submitted(self, db: _Db, entry_id: int, task_id: str, now: float) -> None:
        """`record_submitted` in the open transaction: the usual case in two statements; the
        unique index catches a reissued id."""
        try:
            db.execute(_SUBMITTED, (task_id if task_id.isascii() else _sql(task_id), now, entry_id))
        except sqlite3.IntegrityError:
            self._unlink_reissued(db, entry_id, task_id, now)
            db.execute(_SUBMITTED, (_sql(task_id), now, entry_id))
        db.execute(_QUEUED_EVENT, (entry_id, now))

    @staticmethod
    def _unlink_reissued(db: _Db, entry_id: int, task_id: str, now: float) -> None:
        """Take `task_id` away from the older entries at this entry's origin that hold it."""
        mine = db.execute("SELECT provider, origin FROM tasks WHERE id = ?", (entry_id,)).fetchone()
        if mine is None:
            return
        for (older,) in db.execute(
            "SELECT id FROM tasks WHERE provider = ? AND IFNULL(origin, '') = IFNULL(?, '')"
            " AND task_id = ? AND id != ?",
            (mine["provider"], mine["origin"], _sql(task_id), entry_id),
        ).fetchall():
            log.warning(
                "the vendor reissued task id %r (journal entry %s) to entry %s",
                task_id,
                older,
                entry_id,
            )
            note = (
                f"the vendor issued this task's id {task_id!r} again, to journal entry"
                f" {entry_id}: this task can no longer be reached by id"
            )
            db.execute(
                "UPDATE tasks SET task_id = NULL, error = ?, updated_at = ?,"
                " state = CASE WHEN state IN ('pending', 'queued', 'running')"
                " THEN 'unknown' ELSE state END WHERE id = ?",
                (_sql(note), now, older),
            )

    def record_rejected(self, entry_id: int, error: str) -> None:
        self._set_fields(*_rejected_fields(entry_id, error))

    def record_unknown(self, entry_id: int, error: str) -> None:
        self._set_fields(*_unknown_fields(entry_id, error))

    def record_state(self, entry_id: int, state: str, progress: float | None) -> None:
        self._set_fields(*_state_fields(entry_id, state, progress))

    def record_result(self, entry_id: int, result: Result) -> None:
        self._set_fields(*_result_fields(entry_id, result))

    def record_failure(self, entry_id: int, state: str, error: str) -> None:
        self._set_fields(*_failure_fields(entry_id, state, error))

    def record_files(self, entry_id: int, files: Sequence[tuple[str, str]]) -> None:
        now = self._time()
        with self._tx() as db:
            db.executemany(
                "INSERT OR REPLACE INTO files (task, url, path, at) VALUES (?, ?, ?, ?)",
                [(entry_id, _sql(url), _sql(path), now) for url, path in files],
            )

    def adopt(
        self, provider: str, operation: str, task_id: str, *, origin: str | None = None
    ) -> int:
        """The entry of a task known only by id (resumed from elsewhere); created if new, in
        one transaction, so two processes adopting the same id share one entry."""
        now = self._time()
        with self._tx() as db:
            row = db.execute(
                "SELECT id FROM tasks WHERE provider = ? AND IFNULL(origin, '') = IFNULL(?, '')"
                " AND task_id = ?",
                (provider, _sql(origin), _sql(task_id)),
            ).fetchone()
            if row is not None:
                return int(row["id"])
            cur = db.execute(
                "INSERT INTO tasks (provider, operation, params, task_id, state, created_at,"
                " updated_at, owner, origin) VALUES (?, ?, '{}', ?, 'queued', ?, ?, ?, ?)",
                (provider, operation, _sql(task_id), now, now, self._me(), _sql(origin)),
            )
            entry_id = int(cur.lastrowid or 0)
            db.execute(
                "INSERT INTO events (task, at, state) VALUES (?, ?, 'queued')", (entry_id, now)
            )
        return entry_id

    def _set(self, entry_id: int, **fields: Any) -> None:
        self._set_fields(entry_id, {name: _sql(value) for name, value in fields.items()})

    def _set_fields(self, entry_id: int, fields: dict[str, Any]) -> None:
        with self._tx() as db:
            self._update(db, entry_id, self._time(), **fields)

    @staticmethod
    def _update(db: sqlite3.Connection, entry_id: int, now: float, **fields: Any) -> None:
        """Set `fields` (values ready for SQLite: see `_sql`) and log the state change."""
        db.execute(_update_sql(tuple(fields)), (*fields.values(), now, entry_id))
        if "state" in fields:
            db.execute(_EVENT, (entry_id, now, fields["state"], fields.get("progress")))

    # -- reads --------------------------------------------------------------------------------

    def get(self, entry_id: int) -> Entry:
        rows = self._read("SELECT * FROM tasks WHERE id = ?", (entry_id,))
        if not rows:
            raise KeyError(entry_id)
        return self._entry(rows[0])

    def find(self, provider: str, task_id: str, *, origin: str | None = None) -> Entry | None:
        """The entry of `task_id` submitted to `origin` (None: the catalog default)."""
        rows = self._read(
            "SELECT * FROM tasks WHERE provider = ? AND IFNULL(origin, '') = IFNULL(?, '')"
            " AND task_id = ?",
            (provider, origin, task_id),
        )
        return self._entry(rows[0]) if rows else None

    def find_item(self, item_key: str) -> Entry | None:
        """The newest entry recorded for a batch item's idempotency key."""
        rows = self._read(
            "SELECT * FROM tasks WHERE item_key = ? ORDER BY id DESC LIMIT 1", (item_key,)
        )
        return self._entry(rows[0]) if rows else None

    def entries(
        self,
        *,
        states: Sequence[str] | None = None,
        batch: str | None = None,
        exclude_states: Sequence[str] = (),
    ) -> list[Entry]:
        """The entries in `states` (all when None) but not in `exclude_states`, oldest first."""
        sql = "SELECT * FROM tasks"
        args: list[Any] = []
        where = []
        if states:
            if "succeeded" not in states:
                where.append(_NOT_SUCCEEDED)  # the unfinished and failed: the partial index
            where.append(f"state IN ({', '.join('?' * len(states))})")
            args.extend(states)
        if exclude_states:
            where.append(f"state NOT IN ({', '.join('?' * len(exclude_states))})")
            args.extend(exclude_states)
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
        return [(_py(r["state"]), r["progress"]) for r in rows]

    def finished_durations(
        self, provider: str, operation: str, *, origin: str | None = None, limit: int = 100
    ) -> list[float]:
        """Seconds from submit (task id recorded) to success first seen, for the newest `limit`
        succeeded tasks of provider.operation sent to `origin`, newest first. Of those, only
        tasks submitted through a journal count: an adopted task's clock starts when it was
        adopted. One scan of the events table (it has no index by task)."""
        rows = self._read(
            "SELECT MIN(CASE WHEN state = 'succeeded' THEN at END)"
            " - MIN(CASE WHEN state = 'queued' THEN at END) AS seconds"
            " FROM events WHERE task IN (SELECT id FROM tasks WHERE provider = ?"
            " AND operation = ? AND IFNULL(origin, '') = IFNULL(?, '') AND state = 'succeeded'"
            " ORDER BY id DESC LIMIT ?)"
            " GROUP BY task HAVING MAX(state IN ('planned', 'pending')) = 1 ORDER BY task DESC",
            (provider, operation, origin, limit),
        )
        seconds = (row["seconds"] for row in rows)
        return [float(s) for s in seconds if isinstance(s, int | float) and s > 0]

    def _entry(self, row: sqlite3.Row) -> Entry:
        """An entry from its row; never raises for one bad row (a hand edit, an old version):
        unreadable parameters are kept as text and flagged, an unreadable result is dropped."""
        files = self._read(
            "SELECT url, path FROM files WHERE task = ? ORDER BY at, url", (row["id"],)
        )
        keys = row.keys()

        def column(name: str) -> Any:
            return _py(row[name]) if name in keys else None

        raw_params = str(column("params"))
        params, params_error = _load_params(raw_params)
        problems: list[str] = []

        def number(name: str) -> Any:
            value = column(name)
            if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
                return value
            problems.append(f"its {name} is not a number ({str(value)[:40]!r})")
            return None

        state = str(column("state"))
        if state not in (*UNFINISHED, *TERMINAL):
            problems.append(
                f"its state {state[:40]!r} is unknown (known: {', '.join((*UNFINISHED, *TERMINAL))})"
            )
        task_id = column("task_id")
        progress = column("progress")  # only shown, and rewritten by the next poll: no problem
        if not isinstance(progress, int | float) or isinstance(progress, bool):
            progress = None
        return Entry(
            id=row["id"],
            provider=str(column("provider")),
            operation=str(column("operation")),
            params=params,
            task_id=None if task_id is None else str(task_id),
            state=state,
            progress=progress,
            error=column("error"),
            result=_load_result(row["id"], column("result")),
            batch=column("batch"),
            item=number("item"),
            created_at=number("created_at"),
            updated_at=number("updated_at"),
            files=tuple((_py(r["url"]), _py(r["path"])) for r in files),
            owner=column("owner"),
            origin=column("origin"),
            item_key=column("item_key"),
            output=column("output"),
            raw_params=raw_params,
            params_error=params_error,
            row_error="; ".join(problems) or None,
        )


# The columns each write that updates one entry sets, from its arguments, ready for SQLite (the
# write methods and a batch's executemany share them; a result's JSON is ASCII, escaped). Each
# sets `state`, so each also logs an event.
def _submitted_fields(entry_id: int, task_id: str) -> tuple[int, dict[str, Any]]:
    return entry_id, {"state": "queued", "task_id": _sql(task_id)}


def _state_fields(entry_id: int, state: str, progress: float | None) -> tuple[int, dict[str, Any]]:
    return entry_id, {"state": _sql(state), "progress": progress}


def _result_fields(entry_id: int, result: Result) -> tuple[int, dict[str, Any]]:
    return entry_id, {"state": "succeeded", "progress": 100.0, "result": _dump_result(result)}


def _failure_fields(entry_id: int, state: str, error: str) -> tuple[int, dict[str, Any]]:
    return entry_id, {"state": _sql(state), "error": _sql(error)}


def _rejected_fields(entry_id: int, error: str) -> tuple[int, dict[str, Any]]:
    return entry_id, {"state": "rejected", "error": _sql(error)}


def _unknown_fields(entry_id: int, error: str) -> tuple[int, dict[str, Any]]:
    return entry_id, {"state": "unknown", "error": _sql(error)}


_FIELDS: dict[str, Callable[..., tuple[int, dict[str, Any]]]] = {
    "record_submitted": _submitted_fields,
    "record_state": _state_fields,
    "record_result": _result_fields,
    "record_failure": _failure_fields,
    "record_rejected": _rejected_fields,
    "record_unknown": _unknown_fields,
}

_GROUPED = frozenset({"record_intent", *_FIELDS})
"""The queued writes a batch commits a run of at once (one executemany per statement); a
failing one (a reissued task id) fails the batch, whose writes then go one by one."""


class _Caller:
    """`Journal.caller()`: a context manager built once (a generator-based one costs a
    generator and contextlib's frames on every submit)."""

    __slots__ = ("_journal",)

    def __init__(self, journal: Journal) -> None:
        self._journal = journal

    def __enter__(self) -> None:
        journal = self._journal
        with journal._qlock:
            journal._callers += 1

    def __exit__(self, *exc: object) -> None:
        journal = self._journal
        with journal._qlock:
            journal._callers -= 1


class _Queued:
    """A write waiting for its batch: the name of its write method and its arguments, when it
    was made, and the future (on `loop`) of whoever waits for its commit."""

    __slots__ = ("args", "at", "due", "future", "kwargs", "loop", "name")

    def __init__(
        self,
        name: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        at: float,
        future: asyncio.Future[Any] | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.name = name
        self.args = args
        self.kwargs = kwargs
        self.at = at
        self.future = future
        self.loop = loop
        self.due = 0.0
        """When (`time.monotonic()`) its batch must commit at the latest, if it is queued."""

    def settle(self, ok: bool, value: Any) -> bool:
        """Hand the outcome to whoever waits, on their loop; False when nobody does."""
        if self.future is None or self.loop is None:
            return False
        import asyncio

        try:
            here = asyncio.get_running_loop() is self.loop
        except RuntimeError:
            here = False
        if here:
            _resolve(self.future, ok, value)
        else:
            with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits now
                self.loop.call_soon_threadsafe(_resolve, self.future, ok, value)
        return True


def _settle_all(outcomes: Sequence[tuple[_Queued, bool, Any]]) -> None:
    """Hand a batch's outcomes to whoever waits: at once on this thread's loop, else in one
    callback per loop (a batch committed by the writer thread wakes each loop once)."""
    import asyncio

    try:
        running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    elsewhere: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], bool, Any]]] = {}
    for write, ok, value in outcomes:
        if write.future is None or write.loop is None:
            continue
        if write.loop is running:
            _resolve(write.future, ok, value)
        else:
            elsewhere.setdefault(write.loop, []).append((write.future, ok, value))
    for loop, settled in elsewhere.items():
        with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits now
            loop.call_soon_threadsafe(_resolve_all, settled)


def _resolve_all(settled: Sequence[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for future, ok, value in settled:
        _resolve(future, ok, value)


class _Writer:
    """The thread that commits batches for the journal (`work`), so an event loop never blocks
    on SQLite's write-back for them; woken when a loop's batch is due, stopped by
    `Journal.drain` (client close) after committing what is queued."""

    def __init__(self, work: Callable[[], None], name: str) -> None:
        self._work = work
        self._due = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def alive(self) -> bool:
        return self._thread.is_alive()

    def wake(self) -> None:
        self._due.set()

    def stop(self) -> None:
        """Commit what is queued, then end the thread and wait for it."""
        self._stopping = True
        self._due.set()
        if self._thread is not threading.current_thread():
            self._thread.join()

    def _run(self) -> None:
        while True:
            self._due.wait()
            self._due.clear()  # a batch queued from now on wakes it again
            try:
                self._work()
            except Exception:  # each write's failure is settled or logged by `work`: not this
                log.exception("the task journal's writer thread failed; it goes on")
            if self._stopping:
                return


def _commit(db: sqlite3.Connection, cursor: _Db | None = None) -> None:
    """COMMIT (through `cursor`, if given); when that fails (a busy database past the timeout),
    the transaction is rolled back so the connection is ready for the next one."""
    run = db if cursor is None else cursor
    try:
        run.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            run.execute("ROLLBACK")
        raise


@functools.cache
def _committed_future() -> type[asyncio.Future[Any]]:
    """The class of a commit's future (made on first use: `mediagen tasks` imports no asyncio):
    an asyncio Future that cancelling does not cancel. A task awaiting it that is cancelled
    gets its CancelledError once the write is committed (or failed), with the outcome still
    on the future, so whoever waited for an intent knows the entry it made; `asyncio.shield`
    did that with a second future and three callbacks a write."""
    import asyncio

    class _Committed(asyncio.Future):  # type: ignore[type-arg]
        __slots__ = ()

        def cancel(self, msg: Any = None) -> bool:
            return False

    return _Committed


def _resolve(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.done():  # settled already (a write retried alone after its batch failed)
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """A connection that writes nothing: `mode=ro`, plus `immutable=1` when the folder is not
    writable (WAL would need to create a -shm file there; no writer can be active then)."""
    if not path.is_file():
        raise JournalUnreadableError(f"no task journal at {path}")
    uri = path.resolve().as_uri() + "?mode=ro"
    if not os.access(path.parent, os.W_OK):
        uri += "&immutable=1"
    try:
        db = sqlite3.connect(
            uri, uri=True, timeout=30, isolation_level=None, check_same_thread=False
        )
        db.execute("SELECT count(*) FROM tasks").fetchone()
    except sqlite3.Error as exc:
        raise JournalUnreadableError(f"cannot read the task journal {path}: {exc}") from None
    return db


def _sql(value: Any) -> Any:
    """A value SQLite can store: a str with lone surrogates (a vendor's odd JSON `"\\udc80"`)
    goes in as its exact UTF-8 bytes (surrogatepass), read back by `_py`."""
    if isinstance(value, str) and not value.isascii():  # ASCII (most values) is UTF-8 already
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "surrogatepass")
    return value


def _py(value: Any) -> Any:
    return _text(value) if isinstance(value, bytes) else value


def _text(data: bytes) -> str:
    """A stored string: our own lone surrogates (see `_sql`) come back exactly; bytes that are
    not UTF-8 at all (a hand edit, a BLOB) as surrogate escapes, so reading never fails."""
    try:
        return data.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return data.decode("utf-8", "surrogateescape")


def _load_params(text: str) -> tuple[dict[str, Any], str | None]:
    try:
        params = json.loads(text)
    except (ValueError, RecursionError) as exc:
        return {}, f"its stored params are not valid JSON ({exc})"
    if not isinstance(params, dict):
        return {}, f"its stored params are a JSON {type(params).__name__}, not an object"
    return params, None


_c_encoder: Any = getattr(json.encoder, "c_make_encoder", None)
_ascii: Any = json.encoder.encode_basestring_ascii
_default = json.JSONEncoder().default


def _params_json(params: dict[str, Any]) -> str:
    """The parameters as JSON, as `json.JSONEncoder(sort_keys=True).encode` writes them (sorted
    keys, ASCII, a cycle refused), from the C encoder it builds, without its Python layers."""
    if _c_encoder is None:  # an interpreter without json's C accelerator
        return json.JSONEncoder(sort_keys=True).encode(params)
    encode = _c_encoder({}, _default, _ascii, None, ": ", ", ", True, False, True)
    return "".join(encode(params, 0))


# A result's raw payload was parsed from JSON, so it has no cycles to check for: one encoder,
# built once (without a cycle check it keeps nothing between calls).
_encode_result: Any = (
    None
    if _c_encoder is None
    else _c_encoder(None, str, _ascii, None, ": ", ", ", False, False, True)
)


def _result_json(value: Any) -> str:
    """`json.JSONEncoder(default=str, check_circular=False).encode(value)`, without its Python
    layers."""
    if _encode_result is None:
        return json.JSONEncoder(default=str, check_circular=False).encode(value)
    return "".join(_encode_result(value, 0))


@functools.cache
def _cattrs_converter() -> cattrs.Converter:
    """Results are stored as JSON through cattrs: attrs classes in, plain data out, and back
    (imported on first use: mediagen's own classes are written and read by hand)."""
    import cattrs

    return cattrs.Converter()


def _dump_result(result: Result) -> str:
    """The result as JSON, as cattrs unstructures it (which `_load_result` reads back); built
    by hand for the classes mediagen defines, which every call journals (cattrs walks the
    vendor's raw payload value by value)."""
    plain = type(result) is Result
    artifacts: list[dict[str, Any]] = []  # a loop: no generator or comprehension call
    for a in result.artifacts if plain else ():
        if type(a) is not Artifact:
            plain = False
            break
        artifacts.append(
            {
                "url": a.url,
                "kind": a.kind,
                "source_code": a.source_code,
                "source_language": a.source_language,
            }
        )
    if not plain:
        return json.dumps(_cattrs_converter().unstructure(result), default=str)
    return _result_json(
        {
            "provider": result.provider,
            "operation": result.operation,
            "artifacts": artifacts,
            "raw": result.raw,
            "task_id": result.task_id,
            "skipped_urls": list(result.skipped_urls),
            "warnings": list(result.warnings),
            "journal_id": result.journal_id,
        }
    )


def _load_result(entry_id: int, text: Any) -> Result | None:
    """A stored result; one that no longer reads (a plugin's odd artifact kind, a hand edit)
    is logged on one line and skipped, so one row never makes the whole journal unreadable."""
    if not text:
        return None
    try:
        data = json.loads(str(text))
        return _plain_result(data) or _cattrs_converter().structure(data, Result)
    except Exception as exc:
        reason = " ".join(str(exc).split())[:120]
        log.warning(
            "journal entry %s: its stored result could not be read (%s: %s); skipped",
            entry_id,
            type(exc).__name__,
            reason,
        )
        return None


_RESULT_KEYS = frozenset(attrs.fields_dict(Result))
_ARTIFACT_KEYS = frozenset(attrs.fields_dict(Artifact))
_ARTIFACT_KINDS = frozenset(get_args(ArtifactKind))


def _plain_result(data: Any) -> Result | None:
    """The result `_dump_result` wrote by hand, read back by hand: exactly its keys, each
    value of exactly its type, so cattrs would build the very same Result. None for anything
    else (a plugin's class, an old or edited row): cattrs reads that, or says what is wrong."""
    if type(data) is not dict or data.keys() != _RESULT_KEYS:
        return None
    artifacts = data["artifacts"]
    if not (
        type(data["provider"]) is str
        and type(data["operation"]) is str
        and _optional(data["task_id"], str)
        and _optional(data["journal_id"], int)
        and _strings(data["skipped_urls"])
        and _strings(data["warnings"])
        and type(artifacts) is list
        and all(_plain_artifact(a) for a in artifacts)
    ):
        return None
    return Result(
        provider=data["provider"],
        operation=data["operation"],
        artifacts=tuple(Artifact(**a) for a in artifacts),
        raw=data["raw"],
        task_id=data["task_id"],
        skipped_urls=tuple(data["skipped_urls"]),
        warnings=tuple(data["warnings"]),
        journal_id=data["journal_id"],
    )


def _plain_artifact(data: Any) -> bool:
    return (
        type(data) is dict
        and data.keys() == _ARTIFACT_KEYS
        and type(data["url"]) is str
        and data["kind"] in _ARTIFACT_KINDS
        and _optional(data["source_code"], str)
        and _optional(data["source_language"], str)
    )


def _optional(value: Any, kind: type) -> bool:
    return value is None or type(value) is kind


def _strings(value: Any) -> bool:
    return type(value) is list and all(type(v) is str for v in value)
