"""Validation and normalisation of the values a host hands to rewardkit.

Money is :class:`~decimal.Decimal`; ``str`` and ``int`` are accepted, a ``float`` goes
through its ``repr``; NaN, infinities and negatives are refused.  Attribute values are
JSON-storable scalars (or tuples of them).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import TypeAlias, TypeVar

from .errors import InvalidAction, Problem, ProgramError

__all__ = [
    "AttributeValue",
    "Scalar",
    "aware",
    "freeze",
    "identifier",
    "money",
    "normalize_attributes",
    "number",
]

Scalar: TypeAlias = str | int | bool | Decimal | None
AttributeValue: TypeAlias = Scalar | tuple[Scalar, ...]

K = TypeVar("K")
V = TypeVar("V")

_MAX_ID_LENGTH = 200


def freeze(mapping: Mapping[K, V] | Iterable[tuple[K, V]] = ()) -> Mapping[K, V]:
    """A read-only mapping with keys in sorted order (so serialisation is canonical)."""
    items = mapping.items() if isinstance(mapping, Mapping) else mapping
    return MappingProxyType(dict(sorted(items)))  # type: ignore[type-var,unused-ignore]


def identifier(value: object, field: str) -> str:
    """A non-empty, printable identifier of at most 200 characters."""
    if not isinstance(value, str):
        raise InvalidAction(field, value, "must be a string")
    if not value or not value.strip():
        raise InvalidAction(field, value, "must not be empty")
    if len(value) > _MAX_ID_LENGTH:
        raise InvalidAction(field, value, f"must be at most {_MAX_ID_LENGTH} characters")
    if not value.isprintable():
        raise InvalidAction(field, value, "must not contain control characters")
    return value


def money(value: object, field: str = "amount") -> Decimal:
    """A finite, non-negative Decimal from a Decimal, str, int or float."""
    if isinstance(value, bool):
        raise InvalidAction(field, value, "must be a number, not a boolean")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidAction(field, value, "must be a finite number")
        value = repr(value)
    if isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise InvalidAction(field, value, "must be a decimal number") from None
    elif isinstance(value, Decimal):
        result = value
    else:
        raise InvalidAction(field, value, "must be a Decimal, str, int or float")
    if not result.is_finite():
        raise InvalidAction(field, value, "must be a finite number")
    if result < 0:
        raise InvalidAction(field, value, "must not be negative")
    return result + 0  # normalises -0 to 0


def number(value: object, path: str) -> Decimal:
    """A finite, non-negative Decimal in a programme: errors are :class:`ProgramError`."""
    try:
        return money(value, path)
    except InvalidAction as error:
        raise ProgramError([Problem(path, f"{error.reason}, got {value!r}")]) from None


def aware(value: object, field: str = "at") -> datetime:
    """A timezone-aware datetime (naive datetimes are ambiguous and refused)."""
    if not isinstance(value, datetime):
        raise InvalidAction(field, value, "must be a datetime")
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise InvalidAction(field, value, "must be timezone-aware (e.g. tzinfo=timezone.utc)")
    return value


def _scalar(value: object, field: str) -> Scalar:
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, (float, Decimal)):
        number = Decimal(repr(value)) if isinstance(value, float) else value
        if not number.is_finite():
            raise InvalidAction(field, value, "must be a finite number")
        return number
    raise InvalidAction(
        field, value, "must be a str, int, bool, Decimal, float, None or a list of those"
    )


def normalize_attributes(value: object) -> Mapping[str, AttributeValue]:
    """Attributes as a frozen mapping of storable values, or :class:`InvalidAction`."""
    if value is None:
        return freeze({})
    if not isinstance(value, Mapping):
        raise InvalidAction("attributes", value, "must be a mapping of name to value")
    result: dict[str, AttributeValue] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key:
            raise InvalidAction("attributes", key, "keys must be non-empty strings")
        field = f"attributes[{key!r}]"
        if isinstance(item, (list, tuple)):
            result[key] = tuple(_scalar(element, field) for element in item)
        else:
            result[key] = _scalar(item, field)
    return freeze(result)
