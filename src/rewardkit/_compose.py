"""Condition composition: the Condition protocol, the base class of the built-ins,
``&``, ``|``, ``~``, plain callables, ``always`` and ``never``.  Public names are
re-exported by :mod:`rewardkit.conditions`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Final, Protocol

import attrs

from .context import Context
from .errors import Problem, ProgramError

__all__ = [
    "Condition",
    "always",
    "as_condition",
    "collect",
    "condition",
    "fail",
    "never",
    "walk",
]


class Condition(Protocol):
    """The contract of every condition, built-in or the host's own."""

    def __call__(self, ctx: Context, /) -> bool: ...


def fail(*problems: tuple[str, str]) -> ProgramError:
    return ProgramError([Problem(path=path, message=message) for path, message in problems])


def collect(*parsers: Callable[[], Any]) -> list[Any]:
    """Every parser's value, or one ProgramError with the problems of them all."""
    problems: list[Problem] = []
    values: list[Any] = []
    for parse in parsers:
        try:
            values.append(parse())
        except ProgramError as error:
            problems.extend(error.problems)
    if problems:
        raise ProgramError(problems)
    return values


# ---------------------------------------------------------------- composition


@attrs.frozen
class _Condition:
    """The base of the built-ins: composition operators and a readable repr."""

    def __call__(self, ctx: Context, /) -> bool:
        raise NotImplementedError

    def _describe(self) -> str:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{self._describe()}>"

    def __and__(self, other: Condition) -> _All:
        return _All((*_parts(self, _All), *_parts(as_condition(other), _All)))

    def __rand__(self, other: Condition) -> _All:
        return as_condition(other) & self

    def __or__(self, other: Condition) -> _Any:
        return _Any((*_parts(self, _Any), *_parts(as_condition(other), _Any)))

    def __ror__(self, other: Condition) -> _Any:
        return as_condition(other) | self

    def __invert__(self) -> _Not:
        return _Not(self)


def _parts(cond: _Condition, kind: type[_All] | type[_Any]) -> tuple[_Condition, ...]:
    return cond.conditions if isinstance(cond, kind) else (cond,)


def _operand(cond: _Condition) -> str:
    return f"({cond._describe()})"


@attrs.frozen(repr=False)
class _All(_Condition):
    conditions: tuple[_Condition, ...]

    def __call__(self, ctx: Context, /) -> bool:
        for cond in self.conditions:  # noqa: SIM110 (a loop: no generator per action)
            if not cond(ctx):
                return False
        return True

    def _describe(self) -> str:
        return " & ".join(map(_operand, self.conditions))


@attrs.frozen(repr=False)
class _Any(_Condition):
    conditions: tuple[_Condition, ...]

    def __call__(self, ctx: Context, /) -> bool:
        for cond in self.conditions:  # noqa: SIM110 (a loop: no generator per action)
            if cond(ctx):
                return True
        return False

    def _describe(self) -> str:
        return " | ".join(map(_operand, self.conditions))


@attrs.frozen(repr=False)
class _Not(_Condition):
    condition: _Condition

    def __call__(self, ctx: Context, /) -> bool:
        return not self.condition(ctx)

    def _describe(self) -> str:
        return f"~{_operand(self.condition)}"


@attrs.frozen(repr=False)
class _Callable(_Condition):
    function: Callable[[Context], object]

    def __call__(self, ctx: Context, /) -> bool:
        return bool(self.function(ctx))

    def _describe(self) -> str:
        name = getattr(self.function, "__qualname__", None)
        return f"condition {name if isinstance(name, str) else repr(self.function)}"


def as_condition(obj: object) -> _Condition:
    """``obj`` as a composable condition: a built-in as is, a plain callable wrapped."""
    if isinstance(obj, _Condition):
        return obj
    if callable(obj):
        return _Callable(obj)
    raise TypeError(f"a condition must be callable as condition(ctx) -> bool, got {obj!r}")


def condition(function: Callable[[Context], object]) -> _Condition:
    """Wrap a plain function of the context so it composes with ``& | ~`` (a decorator)."""
    return as_condition(function)


@attrs.frozen(repr=False)
class _Constant(_Condition):
    value: bool

    def __call__(self, ctx: Context, /) -> bool:
        return self.value

    def _describe(self) -> str:
        return "always" if self.value else "never"


always: Final = _Constant(True)
"""The condition that always holds."""
never: Final = _Constant(False)
"""The condition that never holds."""


def walk(cond: object, path: str = "") -> Iterator[tuple[str, object]]:
    """Every part of ``cond``, itself first, each with its path as a programme file
    writes it (``all[1]``, ``any[0].not``), after ``path``: the parts of ``&``, ``|``
    and ``~``, down to the leaves.  A plain function is a leaf: its inside is unknown."""
    yield path, cond
    if isinstance(cond, (_All, _Any)):
        name = "all" if isinstance(cond, _All) else "any"
        for i, part in enumerate(cond.conditions):
            yield from walk(part, f"{path}.{name}[{i}]" if path else f"{name}[{i}]")
    elif isinstance(cond, _Not):
        yield from walk(cond.condition, f"{path}.not" if path else "not")
