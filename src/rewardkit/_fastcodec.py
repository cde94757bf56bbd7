"""Hand-made converters for the classes every commit writes and every load reads
(member states, outcomes), producing exactly what the cattrs converter in
:mod:`rewardkit._codec` produces, several times faster.

They are generated once per class from its attrs fields, the way attrs and cattrs
build their own code, for the field types the domain uses (str, int, bool, Decimal,
datetime, EntryKind, attrs classes, tuples and mappings of those, events); a field of
any other type falls back to the cattrs converter, so a new field never breaks them.
A test holds their output equal to the converter's.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from itertools import pairwise
from types import MappingProxyType
from typing import Any

import attrs

from ._book import spend_order
from ._codec import encode_json
from .events import Event
from .model import _BLANK, Contribution, EntryKind, Lot, MemberState, Outcome, replace_state

__all__ = [
    "data_function",
    "dumps_outcome",
    "dumps_state",
    "isoformat",
    "loads_lot",
    "loads_state",
    "lot_text",
    "metric_text",
]

Convert = Callable[[Any], Any]
_Kept = typing.TypeVar("_Kept", Lot, Contribution)

_encode = encode_json


# ---------------------------------------------------------------- to data


_last_isoformat: tuple[datetime | None, str] = (None, "")


def isoformat(value: datetime) -> str:
    """``value.isoformat()``.  The text made last is kept with its instant: a commit
    writes its action's instant many times over (the entries, the events, the lots, the
    member's activity), and the same object formats alike.  One tuple, read and replaced
    whole, so threads never see a text with another instant."""
    global _last_isoformat
    last = _last_isoformat
    if value is last[0]:
        return last[1]
    text = value.isoformat()
    _last_isoformat = (value, text)
    return text


def _converter_for(kind: Any, fallback: Convert) -> tuple[str, Convert | None]:
    """How a value of type ``kind`` becomes data: ``("same", None)`` (already JSON),
    or ``("call", f)``."""
    origin = typing.get_origin(kind)
    args = typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:
            how, convert = _converter_for(options[0], fallback)
            if how == "same":
                return how, None
            assert convert is not None
            inner = convert
            return "call", lambda v: None if v is None else inner(v)
        return "call", fallback
    if kind in (str, int, bool, type(None)):
        return "same", None
    if kind is datetime:
        return "call", isoformat
    if kind is Decimal:
        return "call", str
    if kind is EntryKind:
        return "call", _kind_value
    if kind is Event:
        return "call", _event_data
    if isinstance(kind, type) and attrs.has(kind):
        return "call", data_function(kind)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        how, convert = _converter_for(args[0], fallback)
        if how == "same":
            return "call", list
        assert convert is not None
        element = convert
        return "call", lambda v: [element(e) for e in v]
    if origin is tuple and args:
        parts = [_converter_for(a, fallback) for a in args]
        calls = [c if how == "call" else None for how, c in parts]
        return "call", lambda v: [e if c is None else c(e) for c, e in zip(calls, v, strict=True)]
    if origin in (Mapping, dict, typing.Mapping) and len(args) == 2 and args[0] is str:
        how, convert = _converter_for(args[1], fallback)
        if how == "same":
            return "call", dict
        assert convert is not None
        value = convert
        return "call", lambda m: {k: value(v) for k, v in m.items()} if m else {}
    return "call", fallback


def _kind_value(kind: EntryKind) -> str:
    return kind.value


_DATA: dict[type, Convert] = {}


class _Rest:
    """Stands for a member state without its lots and metric (see :func:`dumps_state`)."""


def data_function(cls: type) -> Convert:
    """``cls``'s instances to data, as the converter gives them (fields with init=True)."""
    found = _DATA.get(cls)
    if found is not None:
        return found
    from . import _codec

    if cls is Contribution:  # stored in a form of its own (see _codec.contribution_data)
        _DATA[cls] = _codec.contribution_data
        return _codec.contribution_data

    def fallback(value: Any) -> Any:
        return _codec.to_data(value)

    _DATA[cls] = lambda obj: data_function(cls)(obj)  # recursion guard while building
    of = MemberState if cls is _Rest else cls
    hints = typing.get_type_hints(of)
    scope: dict[str, Any] = {}
    items = []
    for field in attrs.fields(of):
        if not field.init:
            continue
        if cls is _Rest and field.name in ("lots", "metric"):
            marker = _LOTS if field.name == "lots" else _METRIC
            items.append(f"{field.name!r}: {marker!r}")
            continue
        how, convert = _converter_for(hints[field.name], fallback)
        if how == "same":
            items.append(f"{field.name!r}: obj.{field.name}")
        else:
            scope[f"_c_{field.name}"] = convert
            items.append(f"{field.name!r}: _c_{field.name}(obj.{field.name})")
    source = "def data(obj):\n    return {" + ", ".join(items) + "}\n"
    exec(source, scope)
    function: Convert = scope["data"]
    _DATA[cls] = function
    return function


def _text(obj: Lot | Contribution) -> str:
    """A lot's or a metric contribution's JSON: they live through many commits of their
    member, so it is made once and kept on them."""
    known: str | None = obj._data
    if known is None:
        known = _encode(data_function(type(obj))(obj))
        object.__setattr__(obj, "_data", known)
    return known


# Stand-ins for the lots and the metric in a state's JSON, replaced by the kept texts.
_LOTS = "\x00rewardkit:lots"
_METRIC = "\x00rewardkit:metric"


def _event_data(event: Event) -> Any:
    data = data_function(type(event))(event)
    data["type"] = type(event).__name__
    return data


def dumps_state(state: MemberState, *, lots: bool = True, metric: bool = True) -> str:
    """``_codec.dumps(state)``, quicker: the lots and the metric, most of a state, are
    spliced in from the texts kept on them.  ``lots=False`` (``metric=False``): the
    state without its ``"lots"`` (``"metric"``) key, for a store that keeps them in rows
    of their own (a reader that expects the key, an older rewardkit, then fails instead
    of seeing none).  Such a text never holds the key's name followed by a colon
    anywhere else either (a mapping key of that name is written with its last letter
    escaped, which JSON reads as the same key), so a database can check the key is
    absent with a plain text search."""
    data = data_function(_Rest)(state)
    text = _encode(data)
    if lots:
        text = text.replace(_LOTS_JSON, '"lots":[' + ",".join(map(_text, state.lots)) + "]", 1)
    else:
        text = _without(text, _LOTS_JSON, '"lots":', '"lot\\u0073":')
    if metric:
        return text.replace(
            _METRIC_JSON, '"metric":[' + ",".join(map(_text, state.metric)) + "]", 1
        )
    return _without(text, _METRIC_JSON, '"metric":', '"metri\\u0063":')


def _without(text: str, stand_in: str, name: str, escaped: str) -> str:
    """``text`` without the key ``stand_in`` holds, and no other ``name`` in it."""
    text = text.replace(stand_in + ",", "", 1)  # "lots" and "metric" are followed by more
    return text.replace(name, escaped) if name in text else text


def metric_text(contribution: Contribution) -> str:
    """A contribution's JSON, as the state's text holds it (made once, kept on it)."""
    return _text(contribution)


def lot_text(lot: Lot) -> str:
    """A lot's JSON, as the state's text holds it (made once, kept on the lot)."""
    return _text(lot)


def loads_lot(text: str) -> Lot:
    """A lot from :func:`lot_text`'s JSON (which it keeps, not to make it again)."""
    lot = _lot(json.loads(text))
    object.__setattr__(lot, "_data", text)
    return lot


def _loads_kept(texts: Sequence[str], build: Callable[[Any], _Kept]) -> tuple[_Kept, ...]:
    """Lots or contributions from their texts (each kept on its object), parsed as one
    JSON array: one call of the parser for all of a member's rather than one each."""
    found = tuple(map(build, json.loads("[" + ",".join(texts) + "]")))
    for item, text in zip(found, texts, strict=True):
        object.__setattr__(item, "_data", text)
    return found


def dumps_outcome(outcome: Outcome) -> str:
    """``_codec.dumps(outcome)``, quicker."""
    return _encode(data_function(Outcome)(outcome))


# ---------------------------------------------------------------- from data


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _lot(data: Mapping[str, Any]) -> Lot:
    return Lot(
        data["id"],
        data["currency"],
        data["points"],
        data["remaining"],
        datetime.fromisoformat(data["earned_at"]),
        _moment(data["expires_at"]),
        data["action"],
        data["rule"],
        data["pending"],
        _moment(data["release_at"]),
        data["tier_credit"],
    )


def _reader_for(kind: Any) -> Convert | None:
    """How stored data of type ``kind`` is read back (``None``: as it is); raises
    LookupError for a type it does not know (the converter reads those)."""
    origin = typing.get_origin(kind)
    args = typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        if len(options) != 1:
            raise LookupError(kind)
        inner = _reader_for(options[0])
        return None if inner is None else (lambda v: None if v is None else inner(v))
    if kind in (str, int, bool):
        return None
    if kind is datetime:
        return datetime.fromisoformat
    if kind is Decimal:
        return Decimal
    if origin in (Mapping, dict, typing.Mapping) and len(args) == 2 and args[0] is str:
        value = _reader_for(args[1])
        # Stored with sorted keys: already in the order a frozen mapping keeps.
        if value is None:
            return MappingProxyType
        reader = value
        return lambda m: MappingProxyType({k: reader(v) for k, v in m.items()})
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        element = _reader_for(args[0])
        if element is None:
            return tuple
        each = element
        return lambda v: tuple(each(e) for e in v)
    if isinstance(kind, type) and attrs.has(kind) and kind not in (Lot, Contribution):
        hints = typing.get_type_hints(kind)
        fields = [(f.name, _reader_for(hints[f.name])) for f in attrs.fields(kind) if f.init]

        def build(data: Mapping[str, Any]) -> Any:
            return kind(**{n: data[n] if r is None else r(data[n]) for n, r in fields})

        return build
    raise LookupError(kind)


def _state_reader() -> Callable[[dict[str, Any]], dict[str, Any]] | None:
    """The state's fields but lots and metric, read back; ``None`` if a field's type is
    one the converter alone knows."""
    hints = typing.get_type_hints(MemberState)
    try:
        fields = [
            (f.name, _reader_for(hints[f.name]))
            for f in attrs.fields(MemberState)
            if f.init and f.name not in ("lots", "metric")
        ]
    except LookupError:
        return None

    def read(data: dict[str, Any]) -> dict[str, Any]:
        return {n: data[n] if r is None else r(data[n]) for n, r in fields}

    return read


_READ_STATE = _state_reader()


def loads_state(
    text: str | bytes, lots: Sequence[str] | None = None, metric: Sequence[str] | None = None
) -> MemberState:
    """``_codec.loads(text, MemberState)``, quicker: every field is read by a reader
    made for its type (the converter reads a state whose data is not as expected).
    ``lots`` (``metric``): the lots' (contributions') texts, in order, for a state stored
    without them."""
    from . import _codec

    data = json.loads(text)
    lots_data = data.pop("lots", ())  # no key: the lots are rows, given as ``lots``
    metric_data = data.pop("metric", None)  # no key: the metric is rows (``metric``)
    try:
        if _READ_STATE is None:
            raise LookupError("a field only the converter reads")
        rest = replace_state(_BLANK, **_READ_STATE(data))
    except (LookupError, TypeError, ValueError):
        rest = _codec.from_data({**data, "lots": [], "metric": []}, MemberState)
    found = tuple(map(_lot, lots_data)) if lots is None else _loads_kept(lots, _lot)
    if metric_data is None:
        if metric is None:
            raise KeyError("metric")  # stored without it, and no rows given
        contributions = _loads_kept(metric, _codec.contribution_from)
    else:
        contributions = tuple(map(_codec.contribution_from, metric_data))
    # Stored states are the engine's, in order; checked, since anyone may commit one.
    try:
        ordered = (
            all(lot.remaining > 0 for lot in found)
            and all(spend_order(a) <= spend_order(b) for a, b in pairwise(found))
            and all(a.at <= b.at for a, b in pairwise(contributions))
        )
    except TypeError:  # instants with and without a time zone (built by hand): no order
        ordered = False
    return replace_state(rest, lots=found, metric=contributions, canonical=ordered)


_LOTS_JSON = '"lots":' + _encode(_LOTS)
_METRIC_JSON = '"metric":' + _encode(_METRIC)
