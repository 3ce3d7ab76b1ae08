"""Every runtime default in one place: timeouts, polling, connection pool, size caps, downloads.

Override per client (`AsyncClient(timeouts=..., polling=...)`) or per call (`wait(timeout=)`).
"""

from __future__ import annotations

import attrs


@attrs.frozen
class Timeouts:
    connect: float = 10.0
    """Seconds to open a connection."""
    request: float = 60.0
    """Seconds for one whole request and response (the vendor scripts use 60)."""
    download: float = 600.0
    """Seconds for one artifact download."""


@attrs.frozen
class PollSchedule:
    """Adaptive polling: fast at first, backing off by `factor` to `maximum`, with jitter.

    With `learn` (the default) the client refines it (see mediagen.polling): the first poll of
    a new task comes when it pays (its operation's history in the journal, else `first`), the
    next ones on a grid just under `maximum` apart counted from the submit, or at the finish the
    vendor's progress foretells. A vendor's Retry-After wins either way; `learn=False` keeps
    exactly initial, initial * factor, ...
    """

    initial: float
    maximum: float
    """Also the longest a finished task waits to be noticed while the client learns."""
    factor: float = 1.5
    jitter: float = 0.1
    """Fraction of each interval randomised, so thousands of tasks do not poll in lockstep."""
    first: float | None = None
    """Seconds before the first poll of a new task when its operation has no history. None:
    after `initial`, then backing off as above."""
    learn: bool = True
    """Whether history and vendor progress may move polls (hints from the vendor always do)."""

    def interval(self, attempt: int) -> float:
        """The base interval before poll number `attempt` (0-based), without jitter."""
        return min(self.maximum, self.initial * self.factor**attempt)


# Per output kind: mattes and diagrams take seconds, images and audio tens of seconds, video
# minutes. With no history, a first poll before the earliest a task of the kind can be done
# finds nothing; one made a step (`maximum` less its 10% jitter) after that earliest finds
# done all the tasks a poll at the earliest would have, each within one step. So `first` is
# that earliest plus a step: images 10 s (text-to-image takes 10 s and more; Tomoviee documents
# 30 s to 2 min), speech 5 s (Tomoviee: TTS 5-30 s, sound effects 10 s-1 min, music 30 s-2 min),
# mattes and diagrams 2 s (EdrawMax's diagrams are synchronous; Tomoviee's mattes report
# progress, which places the polls after the first). Video and the unknown kind poll early
# instead: a video vendor's first answer carries its progress (Tomoviee's), which places the
# next poll, and of an unknown kind nothing is known. After the first poll, polls come a step
# apart, as the vendor docs' fixed loops do, until the journal holds enough history to know
# better.
POLLING: dict[str, PollSchedule] = {
    "image": PollSchedule(initial=1.0, maximum=5.0, first=10.0 + 4.5),
    "mask": PollSchedule(initial=1.0, maximum=5.0, first=2.0 + 4.5),
    "audio": PollSchedule(initial=2.0, maximum=10.0, first=5.0 + 9.0),
    "video": PollSchedule(initial=5.0, maximum=15.0, first=10.0),
    "diagram": PollSchedule(initial=1.0, maximum=5.0, first=2.0 + 4.5),
    "none": PollSchedule(initial=2.0, maximum=10.0, first=3.0),
}

HISTORY_WINDOW = 100
"""Recent finished tasks per operation the duration model keeps (see mediagen.polling)."""

HISTORY_MIN = 10
"""Finished tasks of an operation needed before its history moves the first poll."""

HISTORY_FASTEST_QUANTILE = 0.02
"""The first poll of a new task comes one polling step after this quantile of its operation's
recent durations (each from the submit to the poll that found it done): all tasks but the
fastest few are noticed within a step, as at any later poll, and spared the polls before it."""

HISTORY_EARLY_QUANTILE = 0.15
"""The first poll comes no later than this quantile of recent durations: it finds at least this
share of tasks done, so a history made by these polls (whose durations end at a poll) cannot
push it later and later (see mediagen.polling.first_poll_at)."""

ETA_MARGIN = 0.03
"""A task whose vendor reports progress is polled when it should be done, plus this fraction of
the remaining time: a little late beats a poll that finds it at 99%."""

ETA_FLOOR = 0.5
"""The shortest wait a progress estimate may set, as a fraction of the schedule's `initial`:
a task stuck at 99% is not polled in a tight loop."""

ETA_CAP = 2.0
"""The longest wait a progress estimate may set, as a multiple of the schedule's `maximum`:
early progress is a rough guide, so a far-off estimate is checked again on the way."""

POLL_HINT_MIN = 0.01
"""Seconds: the shortest wait before a poll, whatever a vendor's Retry-After hint says."""

WAIT_TIMEOUT: dict[str, float] = {
    "image": 600.0,
    "mask": 600.0,
    "audio": 900.0,
    "video": 1800.0,
    "diagram": 300.0,
    "none": 900.0,
}
"""Seconds `wait()` waits by default, per output kind (video can take many minutes)."""


@attrs.frozen
class RetryPolicy:
    """How hard to try again. Which errors are retried is decided in mediagen.retry."""

    attempts: int = 4
    """Tries per request (the first one included) for polls, queries and safe resubmits."""
    wait_failures: int = 6
    """Consecutive polls that may fail (each after its own retries) before wait() gives up."""
    base: float = 0.5
    """Seconds before the first retry; doubles each time, with full jitter."""
    cap: float = 30.0
    """The longest single pause, Retry-After included."""


NOT_FOUND_GRACE = 60.0
"""Seconds after a submit during which a poll's "task not found" is taken for the vendor's
read-after-write lag and polled again (see also NOT_FOUND_GRACE_POLLS): a task the vendor just
accepted must not be marked failed for good because one replica has not seen it yet."""

NOT_FOUND_GRACE_POLLS = 5
"""Not-found answers tolerated whatever the time since the submit (the grace lasts until both
this many answers and NOT_FOUND_GRACE seconds have passed, whichever is later): a task resumed
long after its submit, or known only by id, still gets a few polls."""

MAX_ANSWER_DEPTH = 64
"""Vendor JSON nested deeper than this (objects and lists) is refused as malformed. Real answers
nest a handful of levels; deeper ones could not be journaled or scanned without recursing."""

STALE_PART_AGE = 24 * 3600.0
"""Seconds without a write after which a download's hidden `.part` file counts as abandoned even
if its owner pid is alive (a reused pid). A live download writes far more often than this."""


POOL_SIZE = 100
"""Concurrent connections per client; thousands of waiting tasks share them."""

MAX_DOWNLOAD_BYTES = 2 * 1024**3
"""Refuse artifacts larger than this (2 GiB)."""

MAX_RESPONSE_BYTES = 8 * 1024**2
"""Refuse API answers (submit, poll, query, run) larger than this (8 MiB): the vendors' JSON
answers are a few KiB, and a bigger one is refused without being read into memory."""

BATCH_CONCURRENCY = 4
"""Operations a batch (or `resume`) keeps in flight per provider, unless told otherwise."""

MAX_BATCH_FILE_BYTES = 64 * 1024**2
"""Refuse a batch file larger than this (64 MiB, a few hundred thousand items): it is read whole
and validated before anything is sent, so an endless input (`/dev/zero`) must stop early."""

MAX_BATCH_LINE_BYTES = 1024**2
"""Refuse a batch file line longer than this (1 MiB): one item's JSON is a few hundred bytes."""

MAX_REDIRECTS = 5
"""Redirects an artifact download may follow (each hop checked again). API calls follow none."""

USER_AGENT = "mediagen"

SECRET_MIN_LENGTH = 4
"""Secrets (and each encoded form of one) shorter than this are not scrubbed from vendor
answers: replacing so short a string would mangle ordinary text (see mediagen.secrets)."""

DOWNLOAD_ORIGINS_KEPT = 256
"""Artifact URL origins (scheme, host, port) a client remembers as downloadable, per
provider; past this many (a vendor with a host per bucket) it starts over."""

SECRET_BYTE_SEARCHES = 12
"""Up to this many secret forms, an answer's text is searched for each form in turn (a C
substring test each); with more, the scrubber's one pattern search over the decoded text
is cheaper (see `Scrubber.raw`)."""

JOURNAL_FLUSH_DELAY = 0.05
"""Seconds a journal write nobody waits for (a state change, a task's result) may stay queued
before it is committed, together with whatever else queued meanwhile. A crash in that window
only means `resume` polls the task once more; intents and task ids never wait (see
mediagen.journal)."""

JOURNAL_COMMIT_WINDOW = 0.01
"""Seconds an awaited journal write (an intent, a task id) waits for others to share its
transaction, when the last batch showed several tasks writing at once; a caller alone is
committed at once. Bounds the latency the journal adds to a submit under load."""

JOURNAL_BATCH_LIMIT = 512
"""Queued journal writes committed in one transaction at most: bounds how long one commit holds
the journal (the writer thread commits batches; a write awaited alone, or a read, waits for the
batch being committed) when thousands of tasks write at once."""
