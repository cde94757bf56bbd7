"""Timing side by side: every contender runs in the same rounds, one after the other,
so that a machine busy with other work slows them all alike; medians are reported and
ratios are taken between medians of the same run."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence

import attrs

__all__ = ["Result", "Trial", "interleave"]


@attrs.frozen
class Trial:
    """One contender: ``run()`` does ``count`` operations and returns a check value
    (the total points, or anything the contenders must agree on)."""

    name: str
    run: Callable[[], object]
    count: int
    setup: Callable[[], None] | None = None  # untimed, before each round


@attrs.frozen
class Result:
    name: str
    count: int
    seconds: tuple[float, ...]  # one per round
    check: object

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def rate(self) -> float:
        """Operations per second, from the median round."""
        return self.count / self.median if self.median > 0 else float("inf")

    @property
    def spread(self) -> float:
        """(max - min) / median of the rounds: how noisy the machine was."""
        return (max(self.seconds) - min(self.seconds)) / self.median if self.median else 0.0


def interleave(trials: Sequence[Trial], rounds: int) -> dict[str, Result]:
    """Run every trial once per round, in an order that rotates each round (so that
    no contender always runs first or last), and keep each round's time."""
    times: dict[str, list[float]] = {t.name: [] for t in trials}
    checks: dict[str, object] = {}
    for round_number in range(rounds):
        shift = round_number % len(trials)
        for trial in [*trials[shift:], *trials[:shift]]:
            if trial.setup is not None:
                trial.setup()
            start = time.perf_counter()
            check = trial.run()
            times[trial.name].append(time.perf_counter() - start)
            if trial.name in checks and checks[trial.name] != check:
                raise AssertionError(
                    f"{trial.name} gave {check!r}, then {checks[trial.name]!r} in another round"
                )
            checks[trial.name] = check
    return {t.name: Result(t.name, t.count, tuple(times[t.name]), checks[t.name]) for t in trials}


def ratios(results: Mapping[str, Result], against: str) -> dict[str, float]:
    """Each contender's rate divided by ``against``'s."""
    base = results[against].rate
    return {name: result.rate / base for name, result in results.items()}
