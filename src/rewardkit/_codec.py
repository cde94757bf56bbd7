"""Domain objects <-> JSON-ready data, through one cattrs converter.

Stores see plain records (JSON text), never domain classes: this module is the
mapper between the two.  Output is canonical (sorted keys, UTC-free isoformat kept
as given), so equal states encode to equal bytes.
"""

from __future__ import annotations

import hashlib
import json
import json.encoder
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import cattrs

from ._values import AttributeValue, Scalar
from .events import (
    BadgeAwarded,
    DebtSettled,
    Event,
    PendingCancelled,
    PointsEarned,
    PointsExpired,
    PointsHeld,
    PointsReleased,
    PointsReversed,
    ReferralRewarded,
    RewardRedeemed,
    TicketsBought,
    TicketsEarned,
    TicketsTakenBack,
    TierChanged,
    TierGraceStarted,
)
from .model import Action, Contribution, EntryKind, MemberState, Outcome

__all__ = ["dumps", "fingerprint", "from_data", "loads", "make_converter", "to_data"]

T = TypeVar("T")

EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls
    for cls in (
        PointsEarned,
        PointsHeld,
        PointsReleased,
        PendingCancelled,
        DebtSettled,
        RewardRedeemed,
        PointsReversed,
        PointsExpired,
        TierChanged,
        TierGraceStarted,
        BadgeAwarded,
        TicketsEarned,
        TicketsBought,
        TicketsTakenBack,
        ReferralRewarded,
    )
}


def _encode_scalar(value: Scalar) -> object:
    return {"decimal": str(value)} if isinstance(value, Decimal) else value


def _decode_scalar(value: object) -> Scalar:
    if isinstance(value, dict):
        return Decimal(value["decimal"])
    return value  # type: ignore[return-value]


def _encode_attribute(value: AttributeValue) -> object:
    if isinstance(value, tuple):
        return [_encode_scalar(v) for v in value]
    return _encode_scalar(value)


def attributes_data(attributes: Mapping[str, AttributeValue]) -> dict[str, object]:
    """An action's attributes as JSON-ready data (what ``to_data`` gives for them)."""
    return {
        key: value if type(value) is str else _encode_attribute(value)
        for key, value in attributes.items()
    }


def _decode_attribute(value: object) -> AttributeValue:
    if isinstance(value, list):
        return tuple(_decode_scalar(v) for v in value)
    return _decode_scalar(value)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def contribution_data(contribution: Contribution) -> list[object] | dict[str, str]:
    """A tier-metric contribution as stored: ``[microseconds since the epoch, "value"]``.
    A daily customer's state holds hundreds of them: this form is half the size of an
    object with an ISO instant, and so is what every commit of theirs writes.  An
    instant without a time zone (only a state built by hand has one) has no place on
    the epoch's line: it keeps the object form, which reads back as it was."""
    at = contribution.at
    if at.utcoffset() is None:
        return {"at": at.isoformat(), "value": str(contribution.value)}
    return [(at - _EPOCH) // timedelta(microseconds=1), str(contribution.value)]


def contribution_from(data: object) -> Contribution:
    """A contribution from its stored form, or from the form stored before it
    (``{"at": "<ISO instant>", "value": "..."}``)."""
    if isinstance(data, list) and len(data) == 2 and type(data[0]) is int:
        return Contribution(_EPOCH + timedelta(microseconds=data[0]), Decimal(data[1]))
    if isinstance(data, Mapping):
        return Contribution(datetime.fromisoformat(data["at"]), Decimal(data["value"]))
    raise ValueError(f"not a tier-metric contribution: {data!r}")


def make_converter() -> cattrs.Converter:
    """A fresh converter for rewardkit's domain classes (never a shared global)."""
    converter = cattrs.Converter()
    converter.register_unstructure_hook(datetime, datetime.isoformat)
    converter.register_structure_hook(datetime, lambda v, _: datetime.fromisoformat(v))
    converter.register_unstructure_hook(Decimal, str)
    converter.register_structure_hook(Decimal, lambda v, _: Decimal(v))
    converter.register_unstructure_hook(EntryKind, lambda k: k.value)
    converter.register_structure_hook(EntryKind, lambda v, _: EntryKind(v))
    converter.register_unstructure_hook(Contribution, contribution_data)
    converter.register_structure_hook(Contribution, lambda v, _: contribution_from(v))
    converter.register_unstructure_hook(
        Mapping, lambda m: {k: converter.unstructure(v) for k, v in m.items()}
    )

    base_action = converter.get_unstructure_hook(Action)

    def unstructure_action(action: Action) -> dict[str, Any]:
        data: dict[str, Any] = base_action(action)
        data["attributes"] = attributes_data(action.attributes)
        return data

    def structure_action(data: Mapping[str, Any], _: object) -> Action:
        return Action(
            id=data["id"],
            member=data["member"],
            kind=data["kind"],
            at=datetime.fromisoformat(data["at"]),
            amount=None if data.get("amount") is None else Decimal(data["amount"]),
            attributes={k: _decode_attribute(v) for k, v in data.get("attributes", {}).items()},
        )

    converter.register_unstructure_hook(Action, unstructure_action)
    converter.register_structure_hook(Action, structure_action)

    def unstructure_event(event: Event) -> dict[str, Any]:
        hook = converter.get_unstructure_hook(type(event))
        return {"type": type(event).__name__, **hook(event)}

    def structure_event(data: Mapping[str, Any], _: object) -> Event:
        fields = dict(data)
        cls = EVENT_TYPES[fields.pop("type")]
        return converter.structure(fields, cls)

    converter.register_unstructure_hook(Event, unstructure_event)
    converter.register_structure_hook_func(lambda t: t is Event, structure_event)
    for cls in EVENT_TYPES.values():
        # Subclasses are unstructured by their own attrs hook when asked for directly.
        converter.register_unstructure_hook(
            cls, cattrs.gen.make_dict_unstructure_fn(cls, converter)
        )
    return converter


_CONVERTER = make_converter()


def to_data(value: object, as_type: type | None = None) -> Any:
    """``value`` (an Outcome, a MemberView, a list of nudges, a Draw, an Entry, any
    rewardkit value) as plain JSON data: dicts, lists, strings, numbers, booleans and
    None.  Instants become ISO 8601 strings, amounts exact decimal strings, and
    events carry their ``"type"``: what a web app returns, and what the stores write."""
    if isinstance(value, Event):
        return _CONVERTER.unstructure(value, Event)
    return _CONVERTER.unstructure(value, as_type)


def from_data(data: Any, as_type: type[T]) -> T:
    return _CONVERTER.structure(data, as_type)


def _unencodable(value: object) -> object:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _canonical_encoder() -> Callable[[Any], str]:
    """``json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``,
    with json's C encoder made once rather than on every call."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover (CPython has the C encoder)
        return json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
    chunks = make(
        None, _unencodable, json.encoder.encode_basestring, None, ":", ",", True, False, True
    )

    def encode(data: Any) -> str:
        if type(data) is str:
            return json.encoder.encode_basestring(data)
        return "".join(chunks(data, 0))

    return encode


encode_json = _canonical_encoder()


def dumps(value: object, as_type: type | None = None) -> str:
    """Canonical JSON text: sorted keys, no insignificant whitespace."""
    return encode_json(to_data(value, as_type))


def loads(text: str | bytes, as_type: type[T]) -> T:
    return from_data(json.loads(text), as_type)


def fingerprint(request: Mapping[str, Any]) -> str:
    """The sha256 hex digest of a request's canonical JSON."""
    text = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def state_bytes(state: MemberState) -> bytes:
    return dumps(state).encode()


def outcome_data(outcome: Outcome) -> Any:
    return to_data(outcome)


def canonical_json(data: Any) -> str:
    return encode_json(data)


def from_json_text(text: str) -> Any:
    return json.loads(text)
