"""The plugin registry: a user's own policy types, usable from TOML like the built-ins.

A plugin is an attrs class whose fields are its TOML fields, registered under a name::

    @rewardkit.register_rule("streak_bonus")
    @attrs.frozen
    class StreakBonus:
        id: str
        bonus: int
        on: frozenset[str] | None = None
        currency: str = "points"
        caps: tuple[rewardkit.Cap, ...] = ()

        def points(self, ctx: rewardkit.Context) -> int: ...

after which ``type = "streak_bonus"`` works in a programme file, structured, validated and
dumped by the same converter as the built-ins.  Four kinds exist: ``"rule"`` (an
:class:`~rewardkit.rules.EarningRule`), ``"condition"`` (callable as ``condition(ctx) ->
bool``), ``"expiry"`` (an :class:`~rewardkit.expiry.ExpiryPolicy`) and ``"badge"`` (a
badge criterion, :class:`~rewardkit.badges.BadgeCriterion`, written
``criterion = { type = "its_name", ... }``).

Installed packages register through the ``rewardkit.plugins`` entry-point group: the
group is read once, on the first :func:`~rewardkit.config.load_program` or
:func:`~rewardkit.config.dump_program`; each entry point is imported, and called with no
arguments when it is a function.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from importlib.metadata import entry_points
from typing import Final, Literal, TypeVar, get_args

import attrs

from .errors import Problem, ProgramError

__all__ = [
    "BUILTIN_NAMES",
    "ENTRY_POINT_GROUP",
    "REGISTER",
    "PluginKind",
    "load_entry_points",
    "lookup",
    "name_of",
    "names",
    "register",
    "register_badge_criterion",
    "register_condition",
    "register_expiry",
    "register_rule",
    "unregister",
]

PluginKind = Literal["rule", "condition", "expiry", "badge"]
KINDS: Final[tuple[PluginKind, ...]] = get_args(PluginKind)
ENTRY_POINT_GROUP: Final = "rewardkit.plugins"

BUILTIN_NAMES: Final[Mapping[PluginKind, frozenset[str]]] = {
    "rule": frozenset({"fixed", "per_amount", "first_time", "multiplier", "tickets", "referral"}),
    "condition": frozenset(
        {
            "kind",
            "weekday",
            "time",
            "dates",
            "recurrence",
            "attribute",
            "amount",
            "tier",
            "segment",
            "spent_at_least",
            "actions_at_least",
            "inactive_for",
            "all",
            "any",
            "not",
            "always",
            "never",
        }
    ),
    "expiry": frozenset({"never", "fixed_term", "end_of_period", "inactivity", "earliest_of"}),
    "badge": frozenset({"count", "threshold", "streak", "within"}),
}
"""The names the built-in types take in programme files; a plugin may not reuse them."""

# What each kind's class must provide: (members, a sentence naming the contract).
_CONTRACTS: Final[Mapping[PluginKind, tuple[tuple[str, ...], str]]] = {
    "rule": (("id", "on", "currency", "caps", "points"), "rewardkit.EarningRule"),
    "condition": (("__call__",), "a condition: callable as condition(ctx) -> bool"),
    "expiry": (("expires_at", "uses_activity"), "rewardkit.ExpiryPolicy"),
    "badge": (("step", "reached", "standing", "reset"), "rewardkit.BadgeCriterion"),
}
REGISTER: Final[Mapping[PluginKind, str]] = {
    "rule": "register_rule",
    "condition": "register_condition",
    "expiry": "register_expiry",
    "badge": "register_badge_criterion",
}
"""The decorator, in the ``rewardkit`` namespace, that registers each kind."""

T = TypeVar("T", bound=type)

_lock = threading.RLock()
_by_name: dict[PluginKind, dict[str, type]] = {kind: {} for kind in KINDS}
_entry_points_loaded = False


def _fail(message: str) -> ProgramError:
    return ProgramError([Problem("", message)])


def _check_kind(kind: object) -> PluginKind:
    for known in KINDS:
        if kind == known:
            return known
    raise _fail(f"unknown plugin kind {kind!r} (expected {', '.join(KINDS)})")


def _has_member(cls: type, member: str) -> bool:
    if member == "__call__":
        return any("__call__" in vars(klass) for klass in cls.__mro__[:-1])
    if attrs.has(cls) and member in attrs.fields_dict(cls):
        return True
    return hasattr(cls, member)


def _check_class(kind: PluginKind, name: str, cls: object) -> type:
    if not isinstance(cls, type) or not attrs.has(cls):
        raise _fail(
            f"{kind} type {name!r}: {cls!r} must be an attrs class (decorate it with "
            "@attrs.frozen below the register decorator)"
        )
    members, contract = _CONTRACTS[kind]
    missing = [member for member in members if not _has_member(cls, member)]
    if missing:
        raise _fail(
            f"{kind} type {name!r}: {cls.__qualname__} must satisfy {contract}; "
            f"it lacks {', '.join(missing)}"
        )
    return cls


def register(kind: PluginKind, name: str) -> Callable[[T], T]:
    """A class decorator registering an attrs class as the ``kind`` type ``name``.

    Raises :class:`~rewardkit.errors.ProgramError` when ``name`` is a built-in's, is
    already taken by another class, or when the class does not satisfy the kind's
    contract.  Registering the same class under the same name again does nothing.
    """
    checked_kind = _check_kind(kind)
    if not isinstance(name, str) or not name.strip() or name != name.strip():
        raise _fail(f"a {checked_kind} type name must be a non-empty word, got {name!r}")
    if name in BUILTIN_NAMES[checked_kind]:
        raise _fail(
            f"cannot register {checked_kind} type {name!r}: it is a built-in "
            f"{checked_kind} type; choose another name"
        )

    def decorate(cls: T) -> T:
        checked = _check_class(checked_kind, name, cls)
        with _lock:
            table = _by_name[checked_kind]
            taken = table.get(name)
            if taken is not None and taken is not checked:
                raise _fail(
                    f"cannot register {checked_kind} type {name!r}: it is already registered "
                    f"for {taken.__module__}.{taken.__qualname__}; unregister it first"
                )
            other = name_of(checked_kind, checked)
            if other is not None and other != name:
                raise _fail(
                    f"cannot register {checked.__qualname__} as {checked_kind} type {name!r}: "
                    f"it is already registered as {other!r}"
                )
            table[name] = checked
        return cls

    return decorate


def register_rule(name: str) -> Callable[[T], T]:
    """Register an earning rule class (fields ``id``, ``on``, ``currency``, ``caps`` and
    a ``points(ctx)`` method, as :class:`~rewardkit.rules.EarningRule`) as ``type = name``."""
    return register("rule", name)


def register_condition(name: str) -> Callable[[T], T]:
    """Register a condition class (callable as ``condition(ctx) -> bool``): it is then
    written ``name = { its fields }`` in a ``when`` or ``qualifying`` table."""
    return register("condition", name)


def register_expiry(name: str) -> Callable[[T], T]:
    """Register an :class:`~rewardkit.expiry.ExpiryPolicy` class as ``type = name`` in
    an ``[expiry]`` table."""
    return register("expiry", name)


def register_badge_criterion(name: str) -> Callable[[T], T]:
    """Register a badge criterion class (``step``, ``reached``, ``standing`` and
    ``reset``, as :class:`~rewardkit.badges.BadgeCriterion`): it is then written
    ``criterion = { type = name, its fields }`` in a ``[[badges]]`` table."""
    return register("badge", name)


def unregister(kind: PluginKind, name: str) -> None:
    """Forget the ``kind`` type ``name`` (a no-op when it is not registered)."""
    with _lock:
        _by_name[_check_kind(kind)].pop(name, None)


def lookup(kind: PluginKind, name: str) -> type | None:
    """The class registered as the ``kind`` type ``name``, if any."""
    return _by_name[kind].get(name)


def name_of(kind: PluginKind, cls: type) -> str | None:
    """The name ``cls`` is registered under as a ``kind`` type, if any."""
    for name, registered in _by_name[kind].items():
        if registered is cls:
            return name
    return None


def names(kind: PluginKind) -> tuple[str, ...]:
    """Every name a ``kind`` type can take: the built-ins' and the plugins', sorted."""
    return tuple(sorted({*BUILTIN_NAMES[kind], *_by_name[kind]}))


def load_entry_points() -> None:
    """Import every ``rewardkit.plugins`` entry point, once per process.

    An entry point naming a function is called with no arguments (to register what it
    wants); one naming a module or a class is only imported.  A failing entry point
    raises :class:`~rewardkit.errors.ProgramError` naming it, and is retried next time.
    """
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    with _lock:
        if _entry_points_loaded:
            return
        for point in entry_points(group=ENTRY_POINT_GROUP):
            try:
                loaded = point.load()
                if callable(loaded) and not isinstance(loaded, type):
                    loaded()
            except Exception as error:
                raise _fail(
                    f"the plugin entry point {point.name!r} ({point.value}) failed to load: "
                    f"{type(error).__name__}: {error}"
                ) from error
        _entry_points_loaded = True
