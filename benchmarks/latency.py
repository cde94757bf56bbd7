"""Tail latency: how long single ``record`` calls take on a store in use, not on average.

A file holds the reference workload's history (a year of actions of every member) and
the store has every member's state kept decoded, as a server that has been running for
a while.  Then actions of random members are recorded one call at a time, each call
timed on its own, by rewardkit and by the raw loop of the store comparison, taking turns
action by action so that a busy machine slows both alike.  The garbage collector's
pauses are timed too (``gc.callbacks``), with the call they happened in.
"""

from __future__ import annotations

import gc
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

import attrs

import rewardkit as rk

from .stores import RawSQLite, record_batches

__all__ = ["Contender", "Latencies", "latencies", "percentile"]


@attrs.frozen
class Latencies:
    """One contender's calls: each call's time and the collector's pauses during them
    (seconds), with the generation each pause collected."""

    name: str
    calls: tuple[float, ...]
    pauses: tuple[tuple[int, float], ...]
    points: int  # what the calls earned: every contender must agree

    def at(self, fraction: float) -> float:
        return percentile(self.calls, fraction)

    def over(self, seconds: float) -> int:
        return sum(1 for call in self.calls if call > seconds)


def percentile(values: Sequence[float], fraction: float) -> float:
    """The value below which ``fraction`` of ``values`` lie (nearest rank)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


@attrs.frozen
class Contender:
    """A way to record: ``start(path)`` opens the file at ``path`` and returns the call
    that records one action, and the call that closes it."""

    name: str
    start: Callable[[str], tuple[Callable[[rk.Action], object], Callable[[], None]]]
    kind: str  # "rewardkit" or "raw": which history file it starts from


def rewardkit_contender(
    program: rk.Program,
    members: Sequence[str],
    synchronous: str,
    cache_size: int = 10_000,
    checkpoints: str = "commit",
) -> Contender:
    from rewardkit.storage.sqlite import SQLiteStore

    def start(path: str) -> tuple[Callable[[rk.Action], object], Callable[[], None]]:
        store = SQLiteStore(
            path, synchronous=synchronous, cache_size=cache_size, checkpoints=checkpoints
        )
        store.load_many(list(members)[-cache_size:])  # kept decoded, as in a running server
        kit = rk.Rewards(program, store=store)
        return kit.record, kit.close

    options = [synchronous.lower()]
    if cache_size != 10_000:
        options.append(f"cache_size={cache_size:,}")
    if checkpoints != "commit":
        options.append(f"checkpoints={checkpoints}")
    return Contender(f"rewardkit SQLiteStore ({', '.join(options)})", start, "rewardkit")


def raw_contender(synchronous: str) -> Contender:
    def start(path: str) -> tuple[Callable[[rk.Action], object], Callable[[], None]]:
        loop = RawSQLite(path, synchronous)
        return (lambda action: loop.record_all((action,))), loop.close

    return Contender(f"raw sqlite3 loop ({synchronous.lower()})", start, "raw")


def latencies(
    program: rk.Program,
    history: Sequence[rk.Action],
    timed: Sequence[rk.Action],
    contenders: Sequence[Contender],
    directory: str | None = None,
) -> list[Latencies]:
    """Each contender's call times over ``timed``, on a copy of a file holding
    ``history`` (built once for rewardkit and once for the raw loop, untimed)."""
    folder = tempfile.mkdtemp(prefix="rewardkit-bench-", dir=directory)
    current = [0]
    started = [0.0]
    pauses: list[list[tuple[int, float]]] = [[] for _ in contenders]

    def watch(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            pauses[current[0]].append((int(info["generation"]), time.perf_counter() - started[0]))

    try:
        bases = _histories(program, history, folder)
        calls: list[list[float]] = [[] for _ in contenders]
        points = [0 for _ in contenders]
        opened = []
        for number, contender in enumerate(contenders):
            path = os.path.join(folder, f"timed-{number}.db")
            shutil.copyfile(bases[contender.kind], path)
            opened.append(contender.start(path))
        gc.callbacks.append(watch)
        try:
            clock = time.perf_counter
            for action in timed:
                for number, (record, _) in enumerate(opened):
                    current[0] = number
                    began = clock()
                    result = record(action)
                    calls[number].append(clock() - began)
                    points[number] += _points(result)
        finally:
            gc.callbacks.remove(watch)
            for _, close in opened:
                close()
        return [
            Latencies(contender.name, tuple(calls[n]), tuple(pauses[n]), points[n])
            for n, contender in enumerate(contenders)
        ]
    finally:
        shutil.rmtree(folder)


def _points(result: object) -> int:
    if isinstance(result, rk.Outcome):
        return result.points
    assert isinstance(result, int), result
    return result


def _histories(program: rk.Program, history: Sequence[rk.Action], folder: str) -> dict[str, str]:
    """A rewardkit file and a raw-loop file holding ``history``, closed (checkpointed)."""
    from rewardkit.storage.sqlite import SQLiteStore

    kit_path, raw_path = os.path.join(folder, "rewardkit.db"), os.path.join(folder, "raw.db")
    kit = rk.Rewards(program, store=SQLiteStore(kit_path, synchronous="NORMAL"))
    record_batches(kit, history, 1000)
    kit.close()
    loop = RawSQLite(raw_path, "NORMAL")
    loop.record_all(history)
    loop.close()
    return {"rewardkit": kit_path, "raw": raw_path}
