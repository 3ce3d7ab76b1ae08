"""The worker schedule (worker_order.py): the slow tests lead the slices xdist's worksteal hands
out, balanced by their seconds, and everything else keeps its collection order."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from worker_order import longest_first, slice_sizes
from xdist.scheduler.worksteal import WorkStealingScheduling


class Node:
    """What WorkStealingScheduling asks of a worker: the tests it is sent, in order."""

    def __init__(self, name: str) -> None:
        self.gateway = SimpleNamespace(id=name)
        self.sent: list[int] = []
        self.shutting_down = False

    def send_runtest_some(self, indices: list[int]) -> None:
        self.sent += indices


def test_the_slices_are_the_ones_worksteal_hands_out() -> None:
    config: Any = SimpleNamespace(getvalue={"tx": ["4*popen"]}.get)  # what `-n 4` sets
    scheduler = WorkStealingScheduling(config)
    nodes = [Node(f"gw{i}") for i in range(4)]
    collection = [f"t{i}" for i in range(103)]
    for node in nodes:
        scheduler.add_node(node)  # type: ignore[arg-type]
        scheduler.add_node_collection(node, collection)  # type: ignore[arg-type]
    scheduler.schedule()
    assert [len(n.sent) for n in nodes] == slice_sizes(103, 4)
    assert [i for n in nodes for i in n.sent] == list(range(103))


def test_each_slow_test_leads_a_slice_and_the_rest_keep_their_order() -> None:
    ids = [f"t{i}" for i in range(20)]
    seconds = {"t3": 50.0, "t17": 13.0, "t9": 12.0, "t1": 10.0, "t12": 7.0}
    order = longest_first(ids, ids, 4, seconds)
    assert sorted(order) == sorted(ids)
    slices, start = [], 0
    for size in slice_sizes(20, 4):
        slices.append(order[start : start + size])
        start += size
    assert [s[0] for s in slices] == ["t3", "t17", "t9", "t1"]
    # t12 goes with the lightest slice so far (t1's: 10 s), after it
    assert slices[3][:2] == ["t1", "t12"]
    rest = [t for t in order if t not in seconds]
    assert rest == [t for t in ids if t not in seconds]


def test_one_worker_or_no_slow_test_keeps_the_collection_order() -> None:
    ids = [f"t{i}" for i in range(10)]
    assert longest_first(ids, ids, 1, {"t5": 9.0}) == ids
    assert longest_first(ids, ids, 4, {"elsewhere": 9.0}) == ids
