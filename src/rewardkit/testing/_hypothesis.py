"""rewardkit's Hypothesis plugin: registers strategies for rewardkit's types.

Hypothesis runs :func:`_hypothesis_setup_hook` when it is imported, through the
``hypothesis`` entry-point group (``pyproject.toml``), so that
``st.from_type(rewardkit.Action)`` draws valid actions and ``st.from_type(rewardkit.Program)``
valid programmes.  Nothing is imported until the hook runs, and the strategies
themselves are built only when first asked for.
"""

from __future__ import annotations

from typing import Any

__all__ = ["_hypothesis_setup_hook"]


def _action_strategy(_: type) -> Any:
    from .activity import action, members

    return action(members=members())


def _program_strategy(_: type) -> Any:
    from .strategies import programs

    return programs()


def _hypothesis_setup_hook() -> None:
    from hypothesis import strategies as st

    from ..model import Action
    from ..program import Program

    st.register_type_strategy(Action, _action_strategy)
    st.register_type_strategy(Program, _program_strategy)
