"""A randomized kill -9 campaign (issue 7): `mediagen batch` or `mediagen run` is killed at a
random point (before submit, mid-submit, while polling, mid-download, or just at a random
moment), two `mediagen resume` race (one of them sometimes killed too), a third settles; then
the journal, the emulator's log and the output folder must satisfy campaign_invariants.

Rounds: MEDIAGEN_CAMPAIGN_ROUNDS (default 5: each kill point once, one or two of the rounds
killing `run`, the others `batch`; all else drawn afresh). Seed: MEDIAGEN_CAMPAIGN_SEED, else random, else
fixed when CI is set; every failure message names the seed and the round.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest
from campaign_emulator import CampaignEmulator, serving
from campaign_invariants import Observed, Violation, check
from cli_zygote import ForkedProcess, Zygote

from mediagen.journal import Journal
from mediagen.results import Artifact, Result
from mediagen.testing import EMULATOR_CREDENTIALS, Fault

ROUNDS_ENV = "MEDIAGEN_CAMPAIGN_ROUNDS"
SEED_ENV = "MEDIAGEN_CAMPAIGN_SEED"
KILL_POINTS = ("moment", "planned", "submit", "poll", "download")
DEFAULT_ROUNDS = len(KILL_POINTS)
"""Enough rounds for every kill point, since the campaign deals them in turn (`Plan.draw`)."""
RUN_EVERY = 4
"""One round in this many runs `mediagen run` (of one item), the others `mediagen batch`."""
CI_SEED = 20261130
PROCESS_TIMEOUT = 90.0
"""Seconds any one CLI process may take: a hang fails the test instead of stalling CI."""
PARALLEL_ROUNDS = 4
IMAGE = "https://x.test/a.png"

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL"),
    pytest.mark.usefixtures("loopback_children"),  # children skip the CA bundle
]


def campaign_seed() -> int:
    if os.environ.get(SEED_ENV):
        return int(os.environ[SEED_ENV])
    if os.environ.get("CI"):
        return CI_SEED  # derandomized, like the hypothesis "ci" profile
    return random.SystemRandom().randrange(2**32)


def campaign_rounds() -> int:
    return int(os.environ.get(ROUNDS_ENV) or DEFAULT_ROUNDS)


def items_for(round_number: int) -> list[dict[str, Any]]:
    """Media.io and Tomoviee tasks and EdrawMax synchronous diagrams (two files each), each
    with a prompt unique across the campaign."""

    def marker(index: int) -> str:
        return f"campaign round {round_number} item {index}"

    return [
        *(
            {"provider": "mediaio", "operation": "imagen_4", "params": {"prompt": marker(i)}}
            for i in (0, 1)
        ),
        *(
            {
                "provider": "tomoviee",
                "operation": "image_redrawing",
                "params": {"prompt": marker(i), "init_image": IMAGE},
            }
            for i in (2, 3)
        ),
        {"provider": "edrawmax", "operation": "flowchart", "params": {"prompt": marker(4)}},
    ]


@dataclass(frozen=True)
class Plan:
    """One round, drawn from the campaign's random generator."""

    number: int
    items: list[dict[str, Any]]
    command: str
    """batch, or run (of the only item)."""
    kill_point: str
    nth: int
    """Kill after the nth event of kill_point (a submit, poll or download request)..."""
    delay: float
    """...plus this many seconds ("moment": up to 3 s after the first journal write, however
    long the process took to start)."""
    task_seconds: float
    """How long each emulated task runs."""
    submit_delay: float
    """Seconds every submit or synchronous call is held by the emulator before it answers."""
    file_delay: float
    kill_resume_after: float | None
    """Kill the first racing resume after this many seconds, or not."""

    @classmethod
    def draw(cls, rng: random.Random, number: int, turn: int) -> Plan:
        """Round `number`'s plan: its kill point and command dealt in turn, from where the
        campaign's `turn` says (so that any DEFAULT_ROUNDS rounds kill at every point, and run
        `run` as well as `batch`), everything else drawn from `rng`."""
        items = items_for(number)
        command = "run" if (number + turn // len(KILL_POINTS)) % RUN_EVERY == 0 else "batch"
        if command == "run":
            items = [rng.choice(items)]
        kill_point = KILL_POINTS[(number + turn) % len(KILL_POINTS)]
        files = sum(2 if i["provider"] == "edrawmax" else 1 for i in items)
        submit_delay = rng.uniform(0.05, 0.5)
        file_delay = rng.uniform(0.05, 0.4)
        nth, delay = {
            "moment": (1, rng.uniform(0.0, 3.0)),
            "planned": (1, rng.uniform(0.0, 0.05)),
            "submit": (rng.randint(1, len(items)), rng.uniform(0.0, submit_delay)),
            "poll": (rng.randint(1, 3), rng.uniform(0.0, 0.3)),
            "download": (rng.randint(1, files), rng.uniform(0.0, file_delay)),
        }[kill_point]
        kill_resume = rng.uniform(0.0, 2.5) if rng.random() < 0.3 else None
        return cls(
            number,
            items,
            command,
            kill_point,
            nth,
            delay,
            rng.uniform(0.3, 1.5),
            submit_delay,
            file_delay,
            kill_resume,
        )

    def __str__(self) -> str:
        what = "" if self.kill_point in ("moment", "planned") else f" #{self.nth}"
        resume = (
            f", one resume killed after {self.kill_resume_after:.2f}s"
            if self.kill_resume_after is not None
            else ""
        )
        return (
            f"{self.command} of {len(self.items)} killed at {self.kill_point}{what}"
            f" +{self.delay:.2f}s{resume}"
        )


Process = subprocess.Popen[bytes] | ForkedProcess


class Cli:
    """Starts `mediagen ...` processes for one round; output goes to files in the round dir.

    Round 0's first process (the `batch` or `run` that is killed) is a real `python -m
    mediagen`; every other is forked from the campaign's zygote (cli_zygote: the same CLI in
    a process of its own, which SIGKILL kills alike, minus the ~0.7 s of CPU each would spend
    importing)."""

    def __init__(self, folder: Path, env: dict[str, str], zygote: Zygote) -> None:
        self.folder = folder
        self.env = env
        self.zygote = zygote
        self.stderr: dict[int, Path] = {}
        self._logs: list[IO[bytes]] = []

    def start(self, *args: str, forked: bool = True) -> Process:
        log = self.folder / f"{len(self._logs) // 2 + 1}-{args[0]}"
        out, err = open(f"{log}.out", "wb"), open(f"{log}.err", "wb")  # noqa: SIM115
        self._logs += [out, err]
        proc: Process
        if forked:
            proc = self.zygote.start(*args, cwd=self.folder, env=self.env, stdout=out, stderr=err)
        else:
            proc = subprocess.Popen(
                [sys.executable, "-m", "mediagen", *args],
                cwd=self.folder,
                env=self.env,
                stdout=out,
                stderr=err,
            )
        self.stderr[proc.pid] = Path(f"{log}.err")
        return proc

    def crashed(self, proc: Process, what: str) -> list[Violation]:
        """A process that ended other than by our kill, success or a reported failure."""
        err = self.stderr[proc.pid].read_text(errors="replace")
        if proc.returncode in (0, 1, -signal.SIGKILL) and "Traceback" not in err:
            return []
        return [Violation("e", f"{what} crashed (exit {proc.returncode}): {err[-800:]}")]

    def close(self) -> None:
        for f in self._logs:
            f.close()


def settle(proc: Process, what: str) -> int:
    """Wait for proc; a hang kills it and fails the test."""
    try:
        return proc.wait(timeout=PROCESS_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail(f"{what} did not finish within {PROCESS_TIMEOUT:.0f}s")


def journal_rows(path: Path) -> int:
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(path, timeout=5) as db:
            return int(db.execute("SELECT count(*) FROM tasks").fetchone()[0])
    except sqlite3.OperationalError:  # not created yet
        return 0


def kill_point_reached(plan: Plan, emu: CampaignEmulator, journal: Path) -> Callable[[], bool]:
    counts: dict[str, Callable[[], int]] = {
        "moment": lambda: journal_rows(journal),
        "planned": lambda: journal_rows(journal),
        "submit": lambda: len(emu.bodies("submit", "run")),
        "poll": lambda: len(emu.bodies("poll")),
        "download": lambda: len(emu.file_requests),
    }
    count = counts[plan.kill_point]
    return lambda: count() >= plan.nth


@dataclass
class RoundReport:
    plan: Plan
    killed: bool
    after_kill: Counter[str]
    """Journal states right after the kill."""
    final: Counter[str]
    lost_answers: int
    """Tasks the vendor created whose submit answer never reached the journal."""
    violations: list[Violation]


def run_round(folder: Path, plan: Plan, zygote: Zygote) -> RoundReport:
    folder.mkdir(parents=True)
    journal = folder / "journal.sqlite3"
    emulator = CampaignEmulator(duration=plan.task_seconds, file_delay=plan.file_delay)
    emulator.inject(Fault("slow", phase="submit", delay=plan.submit_delay, times=1000))
    emulator.inject(Fault("slow", phase="run", delay=plan.submit_delay, times=1000))
    with serving(emulator) as emu:
        env = {**os.environ, "MEDIAGEN_JOURNAL": str(journal)}
        env.update({f"MEDIAGEN_{p.upper()}_BASE_URL": url for p, url in emu.base_urls.items()})
        env["MEDIAIO_API_KEY"] = EMULATOR_CREDENTIALS["mediaio"]["api_key"]
        env["TOMOVIEE_APP_KEY"] = EMULATOR_CREDENTIALS["tomoviee"]["app_key"]
        env["TOMOVIEE_APP_SECRET"] = EMULATOR_CREDENTIALS["tomoviee"]["app_secret"]
        env.pop("MEDIAGEN_LOG", None)
        cli = Cli(folder, env, zygote)
        try:
            killed, after_kill, crashes = kill_and_resume(plan, cli, emu, journal)
        finally:
            cli.close()
        crashes += [Violation("e", f"the emulator failed to answer {c}") for c in emu.crashes]
        entries = read_journal(journal)
        seen = Observed(
            markers=[i["params"]["prompt"] for i in plan.items],
            entries=entries,
            created=dict(emu.created),
            ran=list(emu.ran),
            sent=emu.bodies("submit", "run"),
            output=folder / "out",
        )
    known = {e.task_id for e in entries}
    return RoundReport(
        plan,
        killed,
        after_kill,
        Counter(e.state for e in entries),
        sum(1 for t in seen.created if t not in known),
        [*crashes, *check(seen)],
    )


def kill_and_resume(
    plan: Plan, cli: Cli, emu: CampaignEmulator, journal: Path
) -> tuple[bool, Counter[str], list[Violation]]:
    """Run the round's processes: (whether the first one was killed before it finished, the
    journal's states right after, crashes)."""
    if plan.command == "batch":
        batch_file = cli.folder / "batch.jsonl"
        batch_file.write_text("".join(json.dumps(i) + "\n" for i in plan.items), encoding="utf-8")
        first = cli.start(
            "batch",
            str(batch_file),
            "--concurrency",
            "1",
            "--output",
            "out",
            forked=plan.number > 0,
        )
    else:
        item = plan.items[0]
        params = [f"{k}={v}" for k, v in item["params"].items()]
        first = cli.start(
            "run",
            item["provider"],
            item["operation"],
            *params,
            "--output",
            "out",
            forked=plan.number > 0,
        )
    reached = kill_point_reached(plan, emu, journal)
    deadline = time.monotonic() + PROCESS_TIMEOUT
    while not reached() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(plan.delay)
    killed = first.poll() is None
    if killed:
        first.kill()
    settle(first, f"round {plan.number}: {plan.command}")
    crashes = cli.crashed(first, plan.command)
    after = Counter(e.state for e in read_journal(journal))

    resume = ("resume", "--concurrency", "2", "--output", "out", "--json")
    racers = [cli.start(*resume), cli.start(*resume)]
    if plan.kill_resume_after is not None:
        time.sleep(plan.kill_resume_after)
        if racers[0].poll() is None:
            racers[0].kill()
    for racer in racers:
        settle(racer, f"round {plan.number}: a racing resume")
        crashes += cli.crashed(racer, "a racing resume")
    last = cli.start(*resume)
    settle(last, f"round {plan.number}: the settling resume")
    crashes += cli.crashed(last, "the settling resume")
    return killed, after, crashes


def read_journal(path: Path) -> list[Any]:
    if not path.exists():
        return []
    journal = Journal(path)
    try:
        return journal.entries()
    finally:
        journal.close()


def play(seed: int, number: int, folder: Path, zygote: Zygote) -> tuple[RoundReport, str]:
    """One round of the campaign, and its line for the log."""
    plan = Plan.draw(
        random.Random(f"{seed}/{number}"), number, turn=seed % (len(KILL_POINTS) * RUN_EVERY)
    )
    started = time.monotonic()
    report = run_round(folder / f"round-{number}", plan, zygote)
    return report, (
        f"round {number} ({time.monotonic() - started:.1f}s): {plan}:"
        f" {'killed' if report.killed else 'finished first'};"
        f" after the kill {dict(report.after_kill)}; settled {dict(report.final)};"
        f" lost submit answers {report.lost_answers}; violations"
        f" {dict(Counter(v.invariant for v in report.violations))}"
    )


def test_kill_campaign_keeps_every_task_once(tmp_path: Path, cli_zygote: Zygote) -> None:
    seed, rounds = campaign_seed(), campaign_rounds()
    print(f"kill campaign: seed {seed}, {rounds} rounds (replay: {SEED_ENV}={seed})")
    # Rounds are independent (own emulator, journal, folder) and mostly wait: run a few at once.
    with ThreadPoolExecutor(max_workers=PARALLEL_ROUNDS) as pool:
        played = list(pool.map(lambda n: play(seed, n, tmp_path, cli_zygote), range(rounds)))
    for _, line in played:
        print(line)
    reports = [report for report, _ in played]
    broken = [r for r in reports if r.violations]
    by_invariant = Counter(v.invariant for r in reports for v in r.violations)
    rounds_by_invariant = Counter(i for r in broken for i in {v.invariant for v in r.violations})
    assert not broken, "\n".join(
        [
            f"kill campaign seed {seed} ({SEED_ENV}={seed} to replay): {len(broken)} of"
            f" {rounds} rounds broke an invariant; violations by invariant"
            f" {dict(sorted(by_invariant.items()))}, rounds by invariant"
            f" {dict(sorted(rounds_by_invariant.items()))}",
            *(f"round {r.plan.number} ({r.plan}): {v}" for r in broken for v in r.violations),
        ]
    )


# -- the invariants themselves can fail: a scratch journal and folder breaking each one -------


def scratch(tmp_path: Path) -> tuple[Journal, list[str], Path]:
    out = tmp_path / "out"
    out.mkdir()
    return Journal(tmp_path / "journal.sqlite3"), [f"m{i}" for i in range(4)], out


def finished(journal: Journal, marker: str, task_id: str, out: Path, *, save: bool) -> int:
    """An entry of a Media.io image task that succeeded, its file saved when `save`."""
    entry = journal.record_intent("mediaio", "imagen_4", {"prompt": marker})
    journal.record_submitted(entry, task_id)
    url = f"http://127.0.0.1:1/_files/{task_id}-0.png"
    result = Result("mediaio", "imagen_4", (Artifact(url, "image"),), raw={}, task_id=task_id)
    journal.record_result(entry, result)
    if save:
        path = out / f"imagen_4-{task_id}.png"
        path.write_bytes(b"png")
        journal.record_files(entry, [(url, str(path))])
    return entry


def body(marker: str) -> str:
    return json.dumps({"data": {"prompt": marker}})


def test_a_clean_round_breaks_no_invariant(tmp_path: Path) -> None:
    journal, markers, out = scratch(tmp_path)
    finished(journal, "m0", "t0", out, save=True)
    lost = journal.record_intent("mediaio", "imagen_4", {"prompt": "m1"})
    journal.record_unknown(lost, "cut off")  # its task t1 exists: a human decides
    seen = Observed(
        markers, journal.entries(), {"t0": body("m0"), "t1": body("m1")}, [], [body("m0")], out
    )
    assert check(seen) == []


def test_each_invariant_reports_what_breaks_it(tmp_path: Path) -> None:
    journal, markers, out = scratch(tmp_path)
    finished(journal, "m0", "t0", out, save=True)
    finished(journal, "m1", "t1", out, save=False)  # (d) its file is missing
    journal.record_intent("tomoviee", "image_redrawing", {"prompt": "m2"}, state="planned")  # (d)
    rejected = journal.record_intent("edrawmax", "flowchart", {"prompt": "m3"})
    journal.record_rejected(rejected, "refused")  # ...yet its run was answered: (a)
    (out / "imagen_4-t0.1.png").write_bytes(b"png")  # (c) a copy
    (out / ".mediagen-x.part").write_bytes(b"p")  # (c) a leftover
    (out / "imagen_4-t9.png").write_bytes(b"png")  # (c) unrecorded
    seen = Observed(
        markers,
        journal.entries(),
        {"t0": body("m0"), "t1": body("m1"), "t7": body("m2")},  # (a) t7 is journaled nowhere
        [body("m3")],
        [body("m0"), body("m0"), body("m1"), body("m2"), body("m3")],  # (b) m0 twice
        out,
    )
    found = [str(v) for v in check(seen)]
    assert any(v.startswith("(a) task t7 created for item 'm2'") for v in found), found
    assert any(v.startswith("(a) the answered run of item 'm3'") for v in found), found
    assert any(v.startswith("(b) item 'm0' was submitted 2 times") for v in found), found
    assert any(v.startswith("(c) leftover partial file .mediagen-x.part") for v in found), found
    assert any(v.startswith("(c) imagen_4-t0.png saved 2 times") for v in found), found
    assert any(v.startswith("(c) imagen_4-t9.png was saved but no entry") for v in found), found
    assert any(v.startswith("(d) entry 3 [tomoviee.image_redrawing planned") for v in found), found
    assert any("succeeded but misses files" in v and "t1-0.png" in v for v in found), found
    assert {v[1] for v in found} == {"a", "b", "c", "d"}
