"""When to poll a task next: what the vendor, its progress and the operation's history say.

Strongest first:

1. the vendor's hint (Retry-After) on its last answer: it knows best;
2. the vendor's progress (Tomoviee's `progress`, 0-100): a task that came p% of the way in the
   time since its submit is done, at that pace, after as long again times (100 - p) / p, so
   the next poll goes there (bounded: progress that jumps or stalls costs a poll, not a lag);
3. a grid of poll times counted from the submit: the first where the operation's history (or,
   with none, the schedule's `first`) says it pays, then one every `poll_step` (just under
   `maximum`), so a task done after the first poll is noticed within one step;
4. otherwise the schedule's own backoff (a schedule with `learn=False` always uses it).

Why a grid, and the first poll where it is: the aim is the fewest polls per task with the lag
(done -> noticed) within one step for all but a few per cent of tasks. Past the first poll, a
gap longer than a step makes a task done at its start wait longer, so the gaps are one step.
Before it, a poll finds done only tasks the history says are rare, and each second the first
poll moves later spares a poll to every task still running: so it comes one step after the
fastest durations (their HISTORY_FASTEST_QUANTILE; the few faster tasks wait a little longer),
but no later than their HISTORY_EARLY_QUANTILE (see `first_poll_at`). Times are counted from
the submit, not from the last answer: a slow answer or a late wake-up does not push every later
poll back.

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


def poll_step(schedule: PollSchedule) -> float:
    """Seconds between two polls of a task past its first: `maximum` less its `jitter` share
    (at most half), so a task done after its first poll is noticed within this, whatever the
    random offset (see `stagger`) of its polls."""
    return schedule.maximum * (1 - min(max(schedule.jitter, 0.0), 0.5))


def first_poll_at(schedule: PollSchedule, durations: Sequence[float]) -> float | None:
    """Seconds after its submit the first poll of a new task pays (see the module's docstring):
    with HISTORY_MIN recent durations of its operation, one `poll_step` after their
    HISTORY_FASTEST_QUANTILE, but no later than their HISTORY_EARLY_QUANTILE; else the
    schedule's `first`. None when the schedule does not learn, or knows nothing."""
    if not schedule.learn:
        return None
    if len(durations) >= HISTORY_MIN:
        fastest = quantile(durations, HISTORY_FASTEST_QUANTILE)
        # The cap also keeps the history's own bias in check: a duration ends at the poll that
        # saw the task done, so a history made by these polls starts at their first; a first
        # poll one step after its earliest would move one step later with every generation.
        early = quantile(durations, HISTORY_EARLY_QUANTILE)
        return min(fastest + poll_step(schedule), early)
    return schedule.first


def stagger(first: float, schedule: PollSchedule, rng: random.Random | None = None) -> float:
    """`first` moved earlier by up to the schedule's `jitter` share of a step, at random: tasks
    submitted together do not poll in lockstep, and every wait stays within its bound."""
    fraction = min(max(schedule.jitter, 0.0), 0.5)
    if fraction == 0:
        return first
    return max(first - (rng or random).uniform(0, fraction * poll_step(schedule)), 0.0)


def next_on_grid(schedule: PollSchedule, first: float, elapsed: float) -> float:
    """Seconds from `elapsed` (since the submit) to the next poll time after it: `first`, then
    every `poll_step`. A poll that came late does not delay the next one; one that came a hair
    early (within POLL_HINT_MIN: clocks differ) is not followed by another at once."""
    ahead = elapsed + POLL_HINT_MIN
    if ahead < first:
        return first - elapsed
    step = poll_step(schedule)
    return first + step * (math.floor((ahead - first) / step) + 1) - elapsed


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
    first: float | None = None,
) -> float:
    """Seconds until the next poll of an unfinished task (see the module's docstring).

    `polls`: polls made so far; `elapsed`: seconds since the submit (None when unknown: a task
    resumed or known only by id); `progress` and `hint` from the last answer; `first`: this
    task's first poll time (`first_poll_at`, staggered), which the later ones count from.
    """
    if hint is not None or not schedule.learn or elapsed is None:
        return next_poll_delay(schedule, polls, hint)
    eta = progress_eta(schedule, progress, elapsed)
    if eta is not None:
        return eta
    if first is None:
        return next_poll_delay(schedule, polls, None)
    if elapsed >= first and progress == 0:
        # Due, but not started (queued): no estimate yet, and no reason to wait long for one.
        return next_poll_delay(schedule, polls, None)
    return next_on_grid(schedule, first, elapsed)


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
