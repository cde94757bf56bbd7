"""Compact per-member columns: what one pass keeps so that a million members fit.

A member costs a few machine words here (id bytes, spend, balance, visits, first and
last visit, tier), never their ledger.
"""

from __future__ import annotations

from array import array
from collections.abc import MutableSequence
from decimal import Decimal

__all__ = ["Ints", "Money", "Names"]


class Ints:
    """Signed integers in an ``array('q')``, moving to a list if one does not fit."""

    def __init__(self) -> None:
        self.data: MutableSequence[int] = array("q")

    def append(self, value: int) -> None:
        try:
            self.data.append(value)
        except OverflowError:
            self.data = list(self.data)
            self.data.append(value)

    def __getitem__(self, index: int) -> int:
        return self.data[index]

    def __len__(self) -> int:
        return len(self.data)


class Money:
    """Non-negative Decimals stored exactly as integers of 10**-scale; the scale grows
    (rescaling what is stored) when a value with more decimal places arrives."""

    def __init__(self) -> None:
        self.scale = 0
        self.units = Ints()

    def append(self, value: Decimal) -> None:
        exponent = value.as_tuple().exponent
        places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        if places > self.scale:
            factor = 10 ** (places - self.scale)
            old = self.units.data
            self.units = Ints()
            for unit in old:
                self.units.append(unit * factor)
            self.scale = places
        self.units.append(int(value.scaleb(self.scale)))

    def decimal(self, units: int) -> Decimal:
        return Decimal(units).scaleb(-self.scale)

    def units_of(self, value: Decimal) -> Decimal:
        """``value`` in this column's units (exact; may have a fraction)."""
        return value.scaleb(self.scale)

    def __len__(self) -> int:
        return len(self.units)


class Names:
    """Member ids packed as UTF-8 in one buffer with offsets."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._ends = Ints()

    def append(self, name: str) -> None:
        self._buffer += name.encode("utf-8")
        self._ends.append(len(self._buffer))

    def __getitem__(self, index: int) -> str:
        start = self._ends[index - 1] if index else 0
        return self._buffer[start : self._ends[index]].decode("utf-8")

    def __len__(self) -> int:
        return len(self._ends)
