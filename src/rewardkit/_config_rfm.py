"""The ``[rfm]`` table of programme files, both ways, and as TOML text.

::

    [rfm]
    recency_days = [60, 30, 14, 7]       # longest silence first: the cut of scores 1|2 ... 4|5
    frequency = [2, 3, 5, 9]             # visits, fewest first
    monetary = ["20.00", "45.50", "90.00", "150.00"]   # spend, least first
    kinds = ["purchase"]                 # optional: what counts as a visit (every kind)
    members = 1204                       # optional: how many members the cut points came from

With it, ``segment = "at-risk"`` (and the other RFM segment names) can be tested by any
condition of the programme.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs
import cattrs

from ._config_base import fail, relocate
from .errors import ProgramError
from .rfm import RFMModel

__all__ = ["install", "rfm_data", "rfm_table"]


@attrs.frozen(kw_only=True)
class _RFMFields:
    recency_days: Any
    frequency: Any
    monetary: Any
    kinds: Any = None
    members: Any = 0


def _structure(value: object, converter: cattrs.Converter) -> RFMModel:
    """The model of an ``[rfm]`` table; it checks itself, with paths from ``rfm``."""
    if isinstance(value, Mapping) and "recency" in value and "recency_days" not in value:
        raise fail("", "unknown field 'recency' (did you mean 'recency_days'? whole days)")
    fields = converter.structure(value, _RFMFields)
    try:
        return RFMModel(**attrs.asdict(fields))
    except ProgramError as error:
        raise ProgramError(relocate(error, "", {"rfm": ""})) from None


def rfm_data(model: RFMModel) -> dict[str, Any]:
    """``model`` as the plain data of an ``[rfm]`` table (Decimals as strings, kinds as a
    sorted list; ``kinds`` and ``members`` left out when they are their default)."""
    data: dict[str, Any] = {
        "recency_days": list(model.recency_days),
        "frequency": list(model.frequency),
        "monetary": [str(amount) for amount in model.monetary],
    }
    if model.kinds is not None:
        data["kinds"] = sorted(model.kinds)
    if model.members:
        data["members"] = model.members
    return data


def _toml(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(map(_toml, value)) + "]"
    return json.dumps(value, ensure_ascii=False)  # a JSON string or number is TOML too


def rfm_table(model: RFMModel) -> str:
    """The ``[rfm]`` table of a programme file for ``model``, as TOML text: this month's
    cut points, frozen into the programme."""
    lines = ["[rfm]", *(f"{key} = {_toml(value)}" for key, value in rfm_data(model).items())]
    return "\n".join(lines) + "\n"


def install(converter: cattrs.Converter) -> None:
    """Register the ``[rfm]`` hooks on ``converter``."""
    converter.register_structure_hook_func(
        lambda t: t is RFMModel, lambda value, _: _structure(value, converter)
    )
    converter.register_unstructure_hook_func(lambda t: t is RFMModel, rfm_data)
