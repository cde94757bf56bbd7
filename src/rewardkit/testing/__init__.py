"""Tools for testing rewardkit and the code built on it.

* :mod:`rewardkit.testing.activity`: Hypothesis strategies for what members do
  (:func:`actions`, :func:`action`, :func:`members`, :func:`instants`,
  :func:`invalid_actions`), drawn near the edges of your programme;
* :mod:`rewardkit.testing.strategies`: strategies for policies and whole programmes
  (:func:`programs`);
* :mod:`rewardkit.testing.invariants`: :func:`check_invariants`, what must hold of any
  member's state and ledger, raising :class:`InvariantViolation`;
* :mod:`rewardkit.testing.machine`: :class:`RewardsStateMachine`, a Hypothesis state
  machine you subclass with your programme;
* :mod:`rewardkit.testing.store_contract`: the contract suite every store must pass,
  ours or your own (:class:`StoreContract`).

This package imports nothing at import time, so neither pytest nor hypothesis is
needed to import it; each name above is imported from its module on first use (all but
the store contract need the ``testing`` extra, which brings hypothesis).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .activity import action, actions, instants, invalid_actions, members
    from .invariants import (
        Earning,
        InvariantViolation,
        check_earning_limit,
        check_invariants,
        check_spending_order,
        earnings,
    )
    from .machine import RewardsStateMachine
    from .store_contract import StoreContract
    from .strategies import programs

_LAZY = {
    "action": "activity",
    "actions": "activity",
    "instants": "activity",
    "invalid_actions": "activity",
    "members": "activity",
    "Earning": "invariants",
    "InvariantViolation": "invariants",
    "check_earning_limit": "invariants",
    "check_invariants": "invariants",
    "check_spending_order": "invariants",
    "earnings": "invariants",
    "RewardsStateMachine": "machine",
    "StoreContract": "store_contract",
    "programs": "strategies",
}

__all__ = [
    "Earning",
    "InvariantViolation",
    "RewardsStateMachine",
    "StoreContract",
    "action",
    "actions",
    "check_earning_limit",
    "check_invariants",
    "check_spending_order",
    "earnings",
    "instants",
    "invalid_actions",
    "members",
    "programs",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rewardkit.testing' has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
