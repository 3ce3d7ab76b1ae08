"""The order xdist's workers run the suite in: the longest tests first, each on a worker of
its own (conftest.py's `pytest_collection_modifyitems`).

With `--dist worksteal`, xdist hands each worker one contiguous slice of the collection, in
collection order, and a worker that runs out takes the back half of the longest queue left.
In plain collection order the tutorial's end-to-end test (about 50 s of wall time) started
wherever its file fell in its worker's slice, and a run could end with one worker still on
it while the others stood idle. Here each slow test goes to the front of a slice, the slices
balanced by the slow tests' wall time (longest first, each to the slice with the least so
far), so the longest chains start at once and what is left to steal is the short tests.
The same order on every worker (xdist checks that all collected the same list).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

SLOW_SECONDS: dict[str, float] = {
    # Wall seconds of a whole run of the suite (4 workers, 2 cores, main at 95b1617); only
    # the order matters, and a test missing from here just keeps its place.
    "tests/plugins/test_docs_plugin_page.py::"
    "test_the_tutorial_runs_from_new_plugin_to_an_installed_wheel": 50.1,
    "tests/test_kill_campaign.py::test_kill_campaign_keeps_every_task_once": 13.3,
    "tests/test_secrets.py::test_no_secret_in_cli_output": 12.9,
    "tests/test_codegen.py::test_output_is_identical_across_hash_seeds": 12.2,
    "tests/test_new_plugin.py::test_a_new_plugin_installs_and_runs_and_then_its_name_is_taken": (
        10.5
    ),
    "tests/test_examples.py::test_the_replicate_example_passes_its_own_tests": 7.8,
    "tests/test_crash_resume.py::"
    "test_sigkill_mid_batch_then_resume_finishes_everything_without_resubmits": 7.6,
    "tests/test_fuzz.py::test_any_answer_is_data_or_a_mediagen_error[edrawmax]": 6.7,
    "tests/test_fuzz.py::test_any_answer_is_data_or_a_mediagen_error[mediaio]": 6.3,
    "tests/test_fuzz.py::test_any_answer_is_data_or_a_mediagen_error[tomoviee]": 5.8,
    "tests/test_catalog_rules.py::test_codegen_emits_the_rule_on_the_model": 5.5,
    "tests/test_runtime_e2e.py::test_many_tasks_wait_concurrently_in_one_loop": 5.4,
    "tests/test_cli.py::test_generate_check_names_every_stale_file_then_generate_fixes_it": 4.6,
    "tests/test_cli_polish.py::test_the_demo_progress_fits_an_80_column_terminal_one_line_per_task": (
        4.1
    ),
}


def slice_sizes(count: int, workers: int) -> list[int]:
    """How many of `count` tests worksteal first hands each of `workers` idle workers (the
    rest of the queue divided by the workers still to serve, one after another)."""
    sizes = []
    for i in range(workers):
        size = count // (workers - i)
        sizes.append(size)
        count -= size
    return sizes


def longest_first(
    items: Sequence[T], ids: Sequence[str], workers: int, seconds: dict[str, float] = SLOW_SECONDS
) -> list[T]:
    """`items` (whose node ids are `ids`) reordered so that each slice worksteal hands a
    worker starts with its share of the slow tests; everything else keeps its order."""
    sizes = slice_sizes(len(items), workers)
    slow = sorted(
        (i for i, nodeid in enumerate(ids) if nodeid in seconds),
        key=lambda i: (-seconds[ids[i]], i),
    )
    if workers < 2 or not slow:
        return list(items)
    fronts: list[list[int]] = [[] for _ in sizes]
    loads = [0.0] * len(sizes)
    for i in slow:
        open_slices = [s for s in range(len(sizes)) if len(fronts[s]) < sizes[s]]
        s = min(open_slices, key=lambda s: (loads[s], s))
        fronts[s].append(i)
        loads[s] += seconds[ids[i]]
    taken = set(slow)
    rest = iter(i for i in range(len(items)) if i not in taken)
    order: list[int] = []
    for front, size in zip(fronts, sizes, strict=True):
        order += front
        order += [next(rest) for _ in range(size - len(front))]
    return [items[i] for i in order]
