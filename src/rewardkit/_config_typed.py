"""Tables with a ``type``: rules, expiry policies, keep policies.

A built-in type has a *spec*, an attrs class whose fields are its fields in files
(``points``, not ``points_per_action``), a ``build`` from spec to policy (the public
factory, which validates the values) and an ``unbuild`` back.  A plugin class is its
own spec.  ``type`` is resolved here, from the raw table and the registry, so an
unknown type reads "unknown rule type 'fixd' (did you mean 'fixed'?)".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs
import cattrs

from . import plugins
from ._config_base import fail, loading, suggestion
from ._config_hooks import unstructure_attrs

__all__ = ["Builtin", "register", "typed_hooks", "with_currency"]

Load = Callable[[object, cattrs.Converter], Any]
Dump = Callable[[Any, cattrs.Converter], Any]


@attrs.frozen
class Builtin:
    """A built-in type: its spec class, spec -> policy, policy -> spec, policy class."""

    spec: type
    build: Callable[[Any], Any]
    unbuild: Callable[[Any], Any]
    policy: type


def register(
    converter: cattrs.Converter,
    declared: tuple[object, ...],
    runtime: tuple[type, ...],
    load: Load,
    dump: Dump,
) -> None:
    """Structure ``declared`` types with ``load``; unstructure them and the ``runtime``
    classes with ``dump``."""
    converter.register_structure_hook_func(
        lambda t: any(t is d for d in declared), lambda v, _: load(v, converter)
    )
    converter.register_unstructure_hook_func(
        lambda t: any(t is d for d in (*declared, *runtime)), lambda v: dump(v, converter)
    )


def with_currency(value: object, spec: type) -> object:
    """A rule's or reward's table with the programme's default currency filled in."""
    if (
        isinstance(value, Mapping)
        and "currency" not in value
        and "currency" in attrs.fields_dict(spec)
    ):
        return {**value, "currency": loading.get().currency}
    return value


def _resolve(
    kind: plugins.PluginKind | None, what: str, value: object, builtins: Mapping[str, Builtin]
) -> tuple[str, type, Callable[[Any], Any]]:
    """The type named by a table's ``type``: (name, spec class, build)."""
    if not isinstance(value, Mapping):
        raise fail("", f"expected a table with a type, got {value!r}")
    known = plugins.names(kind) if kind else tuple(sorted(builtins))
    if "type" not in value:
        raise fail("type", f"is required: the {what} type ({', '.join(known)})")
    name = value["type"]
    if isinstance(name, str) and name in builtins:
        entry = builtins[name]
        return name, entry.spec, entry.build
    cls = plugins.lookup(kind, name) if kind and isinstance(name, str) else None
    if cls is None:
        raise fail("type", f"unknown {what} type {name!r}{suggestion(name, known)}")
    return name, cls, lambda spec: spec


def _structure_typed(
    kind: plugins.PluginKind | None,
    what: str,
    builtins: Mapping[str, Builtin],
    check: Callable[[Any], bool],
    value: object,
    converter: cattrs.Converter,
) -> Any:
    name, spec_cls, build = _resolve(kind, what, value, builtins)
    assert isinstance(value, Mapping)  # checked by _resolve
    fields = {key: item for key, item in value.items() if key != "type"}
    policy = build(converter.structure(with_currency(fields, spec_cls), spec_cls))
    if not check(policy):
        raise fail("", f"the {what} type {name!r} built {policy!r}, which is not a {what}")
    return policy


def _typed_data(
    kind: plugins.PluginKind | None,
    what: str,
    builtins: Mapping[str, Builtin],
    policy: object,
    converter: cattrs.Converter,
) -> dict[str, Any]:
    for name, entry in builtins.items():
        if type(policy) is entry.policy:
            spec = entry.unbuild(policy)
            if entry.build(spec) != policy:  # a field the format does not carry (yet)
                raise fail(
                    "",
                    f"cannot be written as data: {policy!r} has a setting the {what} "
                    f"type {name!r} has no key for",
                )
            break
    else:
        found = plugins.name_of(kind, type(policy)) if kind else None
        if found is None:
            raise fail(
                "",
                f"cannot be written as data: {policy!r} is a {type(policy).__qualname__}, "
                f"which the file format does not know"
                + (
                    f" (register a class of your own with rewardkit.{plugins.REGISTER[kind]})"
                    if kind
                    else ""
                ),
            )
        name, spec = found, policy
    data = unstructure_attrs(spec, converter, keep=("currency",))
    head = {"id": data.pop("id")} if "id" in data else {}
    return {**head, "type": name, **data}


def typed_hooks(
    kind: plugins.PluginKind | None,
    what: str,
    builtins: Mapping[str, Builtin],
    check: Callable[[Any], bool],
) -> tuple[Load, Dump]:
    """The hooks of a family of typed tables (``what``: "rule", "expiry", "keep")."""

    def load(value: object, converter: cattrs.Converter) -> Any:
        return _structure_typed(kind, what, builtins, check, value, converter)

    def dump(policy: Any, converter: cattrs.Converter) -> Any:
        return _typed_data(kind, what, builtins, policy, converter)

    return load, dump
