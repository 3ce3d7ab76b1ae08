"""When to poll a task next: what the vendor, its progress and the operation's history say.

Strongest first:

1. the vendor's hint (Retry-After) on its last answer: it knows best;
2. the vendor's progress (Tomoviee's `progress`, 0-100): a task that came p% of the way in the
   time since its submit is done, at that pace, after as long again times (100 - p) / p, so
   the next poll goes there (bounded: progress that jumps or stalls costs a poll, not a lag);
3. the operation's history: no poll before the task can plausibly be done (an early quantile
   of the operation's recent durations, or the schedule's `first` with no history), then one
   every `maximum` at most, the longest a finished task should wait to be noticed;
4. otherwise the schedule's own backoff (a schedule with `learn=False` always uses it).

The decisions are small pure functions; `DurationModel` holds the history, read from the
journal once per operation and kept up to date as tasks finish in this process.
"""

from __future__ import annotations

import logging
import math
import random
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .defaults import (
    ETA_CAP,
    ETA_FLOOR,
    ETA_MARGIN,
    HISTORY_EARLY_QUANTILE,
    HISTORY_FASTEST_QUANTILE,
    HISTORY_MIN,
    HISTORY_WINDOW,
    POLL_HINT_MIN,
    PollSchedule,
)
from .retry import jittered

if TYPE_CHECKING:
    from .journal import Journal

log = logging.getLogger(__name__)


def quantile(values: Sequence[float], q: float) -> float:
    """The `q` quantile (0..1) of `values`, interpolating between neighbours."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def earliest_finish(schedule: PollSchedule, durations: Sequence[float]) -> float | None:
    """Seconds after its submit a new task can plausibly be done: with HISTORY_MIN recent
    durations of its operation, their HISTORY_EARLY_QUANTILE, or one (shortest) polling interval
    after their HISTORY_FASTEST_QUANTILE if sooner; else the schedule's `first`. None when the schedule
    does not learn, or knows nothing."""
    if not schedule.learn:
        return None
    if len(durations) >= HISTORY_MIN:
        early = quantile(durations, HISTORY_EARLY_QUANTILE)
        fastest = quantile(durations, HISTORY_FASTEST_QUANTILE)
        return min(early, fastest + shortest_interval(schedule))
    return schedule.first


def shortest_interval(schedule: PollSchedule) -> float:
    """The shortest of the intervals a task is polled at once due (see `next_delay`)."""
    return schedule.maximum * (1 - min(schedule.jitter, 1))


def spread(interval: float, fraction: float, rng: random.Random | None = None) -> float:
    """`interval` shortened by up to `fraction` at random: tasks submitted together do not poll
    in lockstep, and no wait is longer than asked (the lag it bounds stays bounded)."""
    if fraction <= 0:
        return interval
    return interval * (1 - (rng or random).uniform(0, min(fraction, 1)))


def progress_eta(schedule: PollSchedule, progress: float | None, elapsed: float) -> float | None:
    """Seconds until the finish that `progress` (percent, seen `elapsed` seconds after the
    submit) foretells, plus a margin, within [initial * ETA_FLOOR, maximum * ETA_CAP]. None
    when progress says nothing (absent, 0, 100 or more)."""
    if progress is None or not 0 < progress < 100 or elapsed <= 0:
        return None
    remaining = elapsed * (100 - progress) / progress * (1 + ETA_MARGIN)
    return min(max(remaining, schedule.initial * ETA_FLOOR), schedule.maximum * ETA_CAP)


def next_poll_delay(schedule: PollSchedule, polls: int, hint: float | None) -> float:
    """The schedule's own wait before poll number `polls`: the vendor's hint when it gave one
    (never below POLL_HINT_MIN nor above the schedule's maximum), else the jittered backoff."""
    if hint is None:
        return jittered(schedule.interval(polls), schedule.jitter)
    return min(max(hint, POLL_HINT_MIN), schedule.maximum)


def next_delay(
    schedule: PollSchedule,
    *,
    polls: int,
    elapsed: float | None,
    progress: float | None = None,
    hint: float | None = None,
    earliest: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds until the next poll of an unfinished task (see the module's docstring).

    `polls`: polls made so far; `elapsed`: seconds since the submit (None when unknown: a task
    resumed or known only by id); `progress` and `hint` from the last answer; `earliest`: from
    `earliest_finish`.
    """
    if hint is not None or not schedule.learn or elapsed is None:
        return next_poll_delay(schedule, polls, hint)
    eta = progress_eta(schedule, progress, elapsed)
    if eta is not None:
        return eta
    if earliest is None:
        return next_poll_delay(schedule, polls, None)
    if elapsed >= earliest and progress == 0:
        # Due, but not started (queued): no estimate yet, and no reason to wait long for one.
        return next_poll_delay(schedule, polls, None)
    if elapsed < earliest:
        return max(spread(earliest - elapsed, schedule.jitter, rng), POLL_HINT_MIN)
    # A finished task waits for its poll one interval at most: `maximum` shortened by up to the
    # jitter, so tasks do not poll in lockstep; the mean interval stays close to `maximum`, which
    # is what sets the number of polls (the lag is set by the longest interval).
    return spread(schedule.maximum, schedule.jitter, rng)


class DurationModel:
    """Recent durations (from the submit to the poll that found the task done, in seconds) per
    provider, operation and origin: read from the journal once each, then kept up to date as
    tasks finish here."""

    def __init__(self, journal: Journal | None, *, window: int = HISTORY_WINDOW) -> None:
        self._journal = journal
        self._window = window
        self._recent: dict[tuple[str, str, str | None], deque[float]] = {}

    def durations(self, provider: str, operation: str, origin: str | None) -> Sequence[float]:
        """The recent durations, oldest first (the journal is read the first time only)."""
        key = (provider, operation, origin)
        if key not in self._recent:
            self._recent[key] = deque(reversed(self._load(*key)), maxlen=self._window)
        return self._recent[key]

    def record(self, provider: str, operation: str, origin: str | None, seconds: float) -> None:
        """A task of this operation finished `seconds` after its submit."""
        if not math.isfinite(seconds) or seconds <= 0:
            return
        key = (provider, operation, origin)
        recent = self._recent.get(key)
        if recent is not None:
            recent.append(seconds)
        elif self._journal is None:
            self._recent[key] = deque([seconds], maxlen=self._window)
        # else: the journal holds it, and the first read of this operation finds it there

    def _load(self, provider: str, operation: str, origin: str | None) -> list[float]:
        if self._journal is None:
            return []
        try:
            return self._journal.finished_durations(
                provider, operation, origin=origin, limit=self._window
            )
        except Exception:
            log.exception("could not read the task journal %s", self._journal.path)
            return []
