"""One load of a programme file: each part structured on its own, so one bad rule does not
hide the problems of the others; cross-references checked once every part is known, with
stand-ins for the parts that failed."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeVar

import cattrs

from ._compose import Condition, always
from ._config_base import Loading, fail, loading, problems_from, suggestion
from ._config_policies import Head
from .badges import Badge, badge, count
from .errors import Problem, ProgramError
from .expiry import ExpiryPolicy, never_expire
from .leaderboards import Leaderboard, leaderboard
from .model import DEFAULT_CURRENCY
from .nudges import NudgeSettings
from .program import Program
from .raffles import Raffle, raffle, tickets
from .rewards import Reward, reward
from .rfm import SEGMENT_NAMES, RFMModel
from .rules import EarningRule, fixed, multiplier
from .tiers import Ladder

__all__ = ["SECTIONS", "Loader"]

SECTIONS: Final = (
    "program",
    "segments",
    "rfm",
    "rules",
    "expiry",
    "tiers",
    "rewards",
    "badges",
    "raffles",
    "leaderboards",
    "nudges",
)
"""The top-level tables of a programme file, in the order they are written."""

T = TypeVar("T")
_NAMED_IN_CONDITIONS: Final = re.compile(r"(rules|badges|leaderboards)\[\d+\]\.|segments\.")
_EPOCH: Final = datetime(2000, 1, 1, tzinfo=UTC)


class Loader:
    """One load of ``data`` through ``converter``; :meth:`program` builds it or raises
    one :class:`ProgramError` with every problem, in file order."""

    def __init__(self, data: object, converter: cattrs.Converter) -> None:
        self.data = data
        self.converter = converter
        self.problems: list[Problem] = []
        self.failed: set[str] = set()  # paths whose problems are already reported
        self.currencies_known = True

    def attempt(self, path: str, build: Callable[[], T]) -> T | None:
        try:
            return build()
        except Exception as error:
            self.problems.extend(problems_from(error, path))
            self.failed.add(path)
            return None

    def structure(self, path: str, value: object, kind: Any) -> Any:
        return self.attempt(path, lambda: self.converter.structure(value, kind))

    def problem(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))
        self.failed.add(path)

    def items(self, section: str, kind: Any) -> list[Any]:
        """Each item of an array of tables, ``None`` for those that failed."""
        if not isinstance(self.data, Mapping) or section not in self.data:
            return []
        raw = self.data[section]
        if not isinstance(raw, (list, tuple)):
            self.problem(section, f"expected a list of tables ([[{section}]]), got {raw!r}")
            return []
        return [self.structure(f"{section}[{i}]", item, kind) for i, item in enumerate(raw)]

    def section(self, name: str, kind: Any) -> Any:
        """An optional table, structured; ``None`` when absent or when it failed."""
        assert isinstance(self.data, Mapping)
        return self.structure(name, self.data[name], kind) if name in self.data else None

    def head(self) -> Head | None:
        assert isinstance(self.data, Mapping)
        if "program" not in self.data:
            self.problem("program", "is required: a [program] table with the programme's name")
            return None
        head: Head | None = self.structure("program", self.data["program"], Head)
        return head

    def currencies(self, head: Head | None) -> tuple[str, ...] | None:
        """The programme's currencies, from a [program] that failed too when its list is
        well formed; ``None`` when they are unknown."""
        if head is not None:
            return head.currencies
        raw = _raw(self.data, "program")
        listed = _raw(raw, "currencies") if isinstance(raw, Mapping) else None
        if listed is None and isinstance(raw, Mapping):
            return (DEFAULT_CURRENCY,)
        if isinstance(listed, list) and listed and all(isinstance(c, str) for c in listed):
            return tuple(listed)
        return None

    def levels(self, tiers: Ladder | None) -> tuple[str, ...] | None:
        """The tier levels ``tier`` conditions may name; ``None`` when [tiers] failed."""
        if "tiers" in self.failed:
            return None
        return tuple(lvl.id for lvl in tiers.levels) if tiers else ()

    def segment_names(self) -> tuple[str, ...] | None:
        """The segments ``segment`` conditions may name (those whose definition fails
        too, and the RFM segments when there is an [rfm] table, even one that fails);
        ``None`` when [segments] is not a table."""
        if not isinstance(self.data, Mapping):
            return ()
        rfm = SEGMENT_NAMES if "rfm" in self.data else ()
        if "segments" not in self.data:
            return rfm
        raw = self.data["segments"]
        return (*(str(name) for name in raw), *rfm) if isinstance(raw, Mapping) else None

    def segments(self) -> dict[str, Condition | None]:
        """Each named condition of [segments], ``None`` for those that failed."""
        if not isinstance(self.data, Mapping) or "segments" not in self.data:
            return {}
        raw = self.data["segments"]
        if not isinstance(raw, Mapping):
            self.problem(
                "segments",
                "expected a table of named conditions, such as [segments] with "
                f'vip = {{ spent_at_least = "200" }}, got {raw!r}',
            )
            return {}
        return {
            str(name): self.structure(f"segments.{name}", cond, Condition)
            for name, cond in raw.items()
        }

    def program(self) -> Program:
        data = self.data
        if not isinstance(data, Mapping):
            raise fail(
                "", f"a programme is a table of sections ({', '.join(SECTIONS)}), got {data!r}"
            )
        for key in data:
            if key not in SECTIONS:
                self.problems.append(
                    Problem("", f"unknown section {key!r}{suggestion(key, SECTIONS)}")
                )
        head = self.head()
        currencies = self.currencies(head)
        self.currencies_known = currencies is not None
        currency = currencies[0] if currencies else DEFAULT_CURRENCY
        tiers = self.section("tiers", Ladder)
        rfm = self.section("rfm", RFMModel)
        token = loading.set(
            Loading(currency=currency, levels=self.levels(tiers), segments=self.segment_names())
        )
        try:
            segments = self.segments()
            lists: dict[str, list[Any]] = {
                "rules": self.items("rules", EarningRule),
                "rewards": self.items("rewards", Reward),
                "badges": self.items("badges", Badge),
                "raffles": self.items("raffles", Raffle),
                "leaderboards": self.items("leaderboards", Leaderboard),
            }
            expiry = self.section("expiry", ExpiryPolicy)
            nudges = self.section("nudges", NudgeSettings)
        finally:
            loading.reset(token)
        parts: dict[str, Any] = {
            "name": head.name if head else "?",
            "timezone": head.timezone if head else "UTC",
            "currencies": currencies or (currency,),
            "pending": head.pending if head else None,
            "expiry": expiry or never_expire,
            "tiers": tiers,
            "nudges": nudges or NudgeSettings(),
            "rfm": rfm,
        }
        if self.problems:
            self.cross_references(parts, lists, segments, currency)
            raise ProgramError(self.in_file_order(self.problems))
        parts.update(lists, segments=segments)
        try:
            return Program(**parts)
        except ProgramError as error:
            raise ProgramError(self.in_file_order(error.problems)) from None

    def cross_references(
        self,
        parts: dict[str, Any],
        lists: dict[str, list[Any]],
        segments: dict[str, Condition | None],
        currency: str,
    ) -> None:
        """The programme's own checks (duplicate ids, targets, currencies, tiers,
        raffles, segments), with stand-ins for the parts that failed, keeping only the
        problems not yet reported."""
        complete: dict[str, Any] = {
            section: [
                item if item is not None else _STAND_INS[section](i, raw, currency)
                for i, (item, raw) in enumerate(zip(items, self.raw(section), strict=False))
            ]
            for section, items in lists.items()
        }
        named: dict[str, Condition] = {
            name: always if cond is None else cond for name, cond in segments.items()
        }
        if "rfm" in self.failed:  # its segments exist: a name clash is still reported
            parts = {**parts, "rfm": _STAND_IN_RFM}
        try:
            Program(segments=named, **complete, **parts)
        except ProgramError as error:
            self.problems.extend(p for p in error.problems if not self.repeats(p))

    def raw(self, section: str) -> list[Any]:
        assert isinstance(self.data, Mapping)
        value = self.data.get(section, [])
        return list(value) if isinstance(value, (list, tuple)) else []

    def repeats(self, problem: Problem) -> bool:
        """Whether a cross-reference problem only repeats one already reported: a reward
        naming a level of tiers that failed, a currency of a [program] that failed, a
        ticket rule naming a raffle of [[raffles]] that failed, and a condition naming a
        level or a segment (checked as the condition is read, with its path in the file)."""
        path, message = problem.path, problem.message
        if path.endswith(".min_tier"):
            return "tiers" in self.failed
        if path.endswith(".raffle") and message.startswith("no raffle "):
            return "raffles" in self.failed
        if _NAMED_IN_CONDITIONS.match(path) and message.startswith(("no tier ", "no segment ")):
            return True
        return path.endswith(".currency") and not self.currencies_known

    def in_file_order(self, problems: tuple[Problem, ...] | list[Problem]) -> list[Problem]:
        """Problems sorted by section (as the file orders them), then by item."""
        order = (
            {key: i for i, key in enumerate(self.data)} if isinstance(self.data, Mapping) else {}
        )

        def key(problem: Problem) -> tuple[int, int]:
            match = re.match(r"(\w+)(?:\[(\d+)\])?", problem.path)
            if match is None:
                return (-1, -1)
            return (order.get(match.group(1), len(order)), int(match.group(2) or -1))

        return sorted(problems, key=key)


# ---------------------------------------------------------------- stand-ins


def _raw(raw: object, key: str) -> Any:
    return raw.get(key) if isinstance(raw, Mapping) else None


def _raw_text(raw: object, key: str, fallback: str | None) -> Any:
    value = _raw(raw, key)
    return value if isinstance(value, str) and value.strip() else fallback


def _raw_names(raw: object, key: str) -> list[str] | None:
    value = _raw(raw, key)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return value
    return None


def _stand_in_rule(i: int, raw: object, currency: str) -> object:
    """A rule in place of one that failed, keeping the id, currency, targets and raffle
    it names (so the programme still checks them) when they are well formed."""
    rule_id = _raw_text(raw, "id", f"<rules[{i}]>")
    kind = _raw(raw, "type")
    if kind == "multiplier":
        return multiplier(rule_id, factor=1, targets=_raw_names(raw, "targets"))
    raffle_id = _raw_text(raw, "raffle", None)
    if kind == "tickets" and raffle_id is not None:
        return tickets(rule_id, raffle=raffle_id)
    if kind == "tickets":
        return multiplier(rule_id, factor=1, targets=None)  # nothing left to check
    return fixed(rule_id, points=1, currency=_raw_text(raw, "currency", currency))


def _stand_in_reward(i: int, raw: object, currency: str) -> Reward:
    """A reward in place of one that failed, keeping its id, currency and minimum tier."""
    return reward(
        _raw_text(raw, "id", f"<rewards[{i}]>"),
        cost=1,
        currency=_raw_text(raw, "currency", currency),
        min_tier=_raw_text(raw, "min_tier", None),
    )


def _stand_in_badge(i: int, raw: object, currency: str) -> Badge:
    return badge(
        _raw_text(raw, "id", f"<badges[{i}]>"),
        count(1),
        currency=_raw_text(raw, "currency", currency),
    )


def _stand_in_raffle(i: int, raw: object, currency: str) -> Raffle:
    return raffle(
        _raw_text(raw, "id", f"<raffles[{i}]>"),
        opens_at=_EPOCH,
        closes_at=_EPOCH + timedelta(days=1),
        currency=_raw_text(raw, "currency", currency),
    )


def _stand_in_leaderboard(i: int, raw: object, currency: str) -> Leaderboard:
    return leaderboard(_raw_text(raw, "id", f"<leaderboards[{i}]>"), metric="actions")


_STAND_IN_RFM: Final = RFMModel((0,) * 4, (0,) * 4, (0,) * 4)

_STAND_INS: Final[Mapping[str, Callable[[int, object, str], object]]] = {
    "rules": _stand_in_rule,
    "rewards": _stand_in_reward,
    "badges": _stand_in_badge,
    "raffles": _stand_in_raffle,
    "leaderboards": _stand_in_leaderboard,
}
