"""What waiting costs the work done next: ``evaluate``'s own time per action when the
actions run back to back, and when each one follows a pause like a commit's wait for
the disk.

At ``synchronous=FULL`` every ``record`` waits for its commit's ``fsync`` before the next
call can begin.  A processor that waited comes back slower (its caches went to other
work, or it slept and lost speed); a call's own work then costs more than the same work
in a hot loop.  Each contender times ``evaluate`` alone, around each call (the pauses are
not timed), after:

- ``none``: nothing, back to back;
- ``sleep``: a sleep of :data:`PAUSE`;
- ``fsync``: a 4 KiB write to a file and ``fdatasync``, as a small commit at FULL waits;
- ``spin``: :data:`PAUSE` of busy waiting: the processor never idles.

A library cannot spin while it waits for the disk (it would burn the host's processor);
the ``spin`` contender only shows that the cost is the waiting, not the pause's length.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Sequence

import rewardkit as rk
from rewardkit.model import MemberState

from .engines import fold

__all__ = ["DESCRIBED", "PAUSE", "PAUSES", "evaluate_after_pauses"]

PAUSE = 150e-6
"""Seconds of each pause: about what a small commit waits for ``fsync`` here."""

PAUSES = ("none", "sleep", "fsync", "spin")

DESCRIBED = {
    "none": "back to back",
    "sleep": "after a 150 µs sleep",
    "fsync": "after a 4 KiB write and fdatasync",
    "spin": "after 150 µs of busy waiting",
}


def _spin() -> None:
    until = time.perf_counter() + PAUSE
    while time.perf_counter() < until:
        pass


def evaluate_after_pauses(
    program: rk.Program, actions: Sequence[rk.Action], directory: str, rounds: int
) -> dict[str, tuple[float, float]]:
    """For each pause: the median over ``rounds`` of ``evaluate``'s own µs per action,
    and the spread of the rounds; the contenders take turns, rotating, in every round.
    Every contender must compute the same total points."""
    path = os.path.join(directory, "rewardkit-idle.bin")
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    page = b"\0" * 4096

    def fsync() -> None:
        os.pwrite(descriptor, page, 0)
        os.fdatasync(descriptor)

    pauses: dict[str, Callable[[], None]] = {
        "none": lambda: None,
        "sleep": lambda: time.sleep(PAUSE),
        "fsync": fsync,
        "spin": _spin,
    }

    def one_round(pause: Callable[[], None]) -> tuple[float, int]:
        states: dict[str, MemberState] = {}
        spent, total = 0.0, 0
        for action in actions:
            pause()
            start = time.perf_counter()
            total += fold(program, (action,), states)
            spent += time.perf_counter() - start
        return spent / len(actions) * 1e6, total

    times: dict[str, list[float]] = {name: [] for name in PAUSES}
    totals: set[int] = set()
    try:
        for number in range(rounds):
            shift = number % len(PAUSES)
            for name in (*PAUSES[shift:], *PAUSES[:shift]):
                micros, total = one_round(pauses[name])
                times[name].append(micros)
                totals.add(total)
    finally:
        os.close(descriptor)
        os.remove(path)
    if len(totals) != 1:
        raise AssertionError(f"the contenders computed different totals: {sorted(totals)}")
    return {
        name: (statistics.median(found), (max(found) - min(found)) / statistics.median(found))
        for name, found in times.items()
    }
