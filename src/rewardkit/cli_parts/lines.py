"""Action files: one JSON object per line, each a request to the programme.

A line without ``op`` (or with ``"op": "record"``) is an action; ``redeem``,
``reverse``, ``enter``, ``refer`` and ``confirm`` lines are the other calls.  Parsing
checks the shape of a line (fields, types, instants) and builds the request; the
programme's own checks happen when the request is applied.  The format is described
in ``docs/reference/cli.md``.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Mapping
from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Any, Final

import attrs

from ..errors import InvalidAction
from ..facade import Rewards
from ..model import Action, Outcome

__all__ = ["OPS", "LineError", "Request", "parse_line", "parse_request"]


class LineError(ValueError):
    """A line that is not a well-formed request; the message says what is wrong."""


@attrs.frozen
class Request:
    """One parsed line: the call it makes, and the instant it happens."""

    op: str
    at: datetime
    id: str
    member: str | None
    call: Callable[[Rewards], Outcome] = attrs.field(eq=False, repr=False)
    action: Action | None = None  # for "record" lines


# op -> (required fields, optional fields), "op" aside
OPS: Final[Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    "record": (("id", "member", "kind", "at"), ("amount", "attributes")),
    "redeem": (("id", "member", "reward", "at"), ()),
    "reverse": (("id", "action", "at"), ("amount",)),
    "enter": (("id", "member", "raffle", "at"), ("tickets",)),
    "refer": (("id", "referrer", "referred", "at"), ()),
    "confirm": (("action", "at"), ()),
}
_STRINGS: Final = ("id", "member", "kind", "reward", "action", "raffle", "referrer", "referred")


def _suggest(name: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _instant(value: object, tz: tzinfo) -> datetime:
    if not isinstance(value, str):
        raise LineError(
            f"'at' must be an ISO 8601 string such as '2026-03-07T09:30:00+01:00': {value!r}"
        )
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise LineError(
            f"'at' is not an ISO 8601 instant such as '2026-03-07T09:30:00+01:00': {value!r}"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)


def _amount(value: object) -> Decimal | str | int | None:
    if value is None or isinstance(value, (Decimal, str)):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise LineError(f"'amount' must be a number or a string such as \"12.50\": {value!r}")


def _fields(data: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    op = data.get("op", "record")
    if not isinstance(op, str) or op not in OPS:
        raise LineError(f"unknown op {op!r}{_suggest(str(op), tuple(OPS))} (ops: {', '.join(OPS)})")
    required, optional = OPS[op]
    known = (*required, *optional, "op")
    for name in data:
        if name not in known:
            raise LineError(f"unknown field {name!r}{_suggest(name, known)} in a {op} line")
    missing = [name for name in required if name not in data]
    if missing:
        listed = ", ".join(repr(name) for name in missing)
        raise LineError(f"a {op} line needs {listed}")
    for name in _STRINGS:
        if name in data and (not isinstance(data[name], str) or not data[name].strip()):
            raise LineError(f"{name!r} must be a non-empty string: {data[name]!r}")
    return op, data


def parse_request(data: object, tz: tzinfo) -> Request:
    """The request a decoded line makes; instants without an offset are read in ``tz``."""
    if not isinstance(data, dict):
        raise LineError(f"a line must be a JSON object, got {type(data).__name__}")
    op, line = _fields(data)
    at = _instant(line["at"], tz)
    if op == "record":
        attributes = line.get("attributes") or {}
        if not isinstance(attributes, dict):
            raise LineError(f"'attributes' must be an object: {attributes!r}")
        try:
            action = Action(
                id=line["id"],
                member=line["member"],
                kind=line["kind"],
                at=at,
                amount=_amount(line.get("amount")),
                attributes=attributes,
            )
        except InvalidAction as error:
            raise LineError(str(error)) from None
        return Request(op, at, action.id, action.member, _record(action), action)
    if op == "redeem":
        member, reward, id = line["member"], line["reward"], line["id"]
        return Request(op, at, id, member, lambda kit: kit.redeem(member, reward, id=id, at=at))
    if op == "reverse":
        action_id, id, amount = line["action"], line["id"], _amount(line.get("amount"))
        return Request(
            op, at, id, None, lambda kit: kit.reverse(action_id, id=id, at=at, amount=amount)
        )
    if op == "enter":
        tickets = line.get("tickets", 1)
        if isinstance(tickets, bool) or not isinstance(tickets, int) or tickets <= 0:
            raise LineError(f"'tickets' must be a positive integer: {tickets!r}")
        member, raffle, id = line["member"], line["raffle"], line["id"]
        return Request(
            op,
            at,
            id,
            member,
            lambda kit: kit.enter(raffle, member, id=id, tickets=tickets, at=at),
        )
    if op == "refer":
        referrer, referred, id = line["referrer"], line["referred"], line["id"]
        return Request(
            op, at, id, referred, lambda kit: kit.refer(referrer, referred, id=id, at=at)
        )
    action_id = line["action"]
    return Request(op, at, action_id, None, lambda kit: kit.confirm(action_id, at=at))


def _record(action: Action) -> Callable[[Rewards], Outcome]:
    return lambda kit: kit.record(action)


def parse_line(raw: bytes | str, tz: tzinfo) -> Request | None:
    """The request on one line of a file; ``None`` for a blank or ``#`` comment line."""
    text = raw.strip()
    if not text or text[:1] in (b"#", "#"):
        return None
    try:
        data = json.loads(text, parse_float=Decimal)
    except UnicodeDecodeError:
        raise LineError("not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise LineError(f"not valid JSON: {error.msg} (column {error.colno})") from None
    return parse_request(data, tz)
