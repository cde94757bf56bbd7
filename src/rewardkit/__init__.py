"""rewardkit: an embeddable gamification and rewards SDK.

The domain (rules, conditions, programme, engine) is imported eagerly and does no I/O;
the facade and the stores are imported on first use, so ``import rewardkit.engine``
never loads ``sqlite3`` or any store.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .badges import Badge, BadgeCriterion, badge, count, streak, threshold, within
from .conditions import (
    Condition,
    always,
    amount_at_least,
    amount_below,
    amount_compare,
    attribute_compare,
    attribute_equals,
    attribute_in,
    condition,
    date_between,
    has_attribute,
    kind,
    never,
    recurrence,
    tier_in,
    time_between,
    weekday,
)
from .context import Context
from .errors import (
    ConcurrencyConflict,
    IdempotencyConflict,
    InsufficientPoints,
    InvalidAction,
    Problem,
    ProgramError,
    RaffleError,
    ReferralError,
    RewardkitError,
    RewardUnavailable,
    StoreError,
    UnknownAction,
    UnknownRaffle,
    UnknownReward,
)
from .events import (
    BadgeAwarded,
    PendingCancelled,
    PointsExpired,
    PointsHeld,
    PointsReleased,
    ReferralRewarded,
    TicketsBought,
    TicketsEarned,
    TicketsTakenBack,
    TierChanged,
    TierGraceStarted,
)
from .expiry import (
    ExpiryPolicy,
    earliest_of,
    end_of_period,
    fixed_term,
    inactivity,
    never_expire,
)
from .leaderboards import Leaderboard, Standing, leaderboard
from .model import (
    DEFAULT_CURRENCY,
    Action,
    Award,
    BadgeProgress,
    BadgeState,
    DebtSettled,
    Entry,
    EntryKind,
    Event,
    Lot,
    MemberState,
    MemberView,
    Outcome,
    PointsEarned,
    PointsReversed,
    RewardRedeemed,
    ScoreChange,
    SweepReport,
    TierStatus,
)
from .nudges import Nudge, NudgeSettings
from .pending import Hold, pending_for, until_confirmed
from .plugins import (
    register_badge_criterion,
    register_condition,
    register_expiry,
    register_rule,
)
from .program import Program
from .raffles import Draw, Raffle, TicketRule, commitment, raffle, tickets, verify_draw
from .referrals import ReferralRule, referral
from .rewards import Reward, reward
from .rfm import RFMModel
from .rules import Cap, EarningRule, Multiplier, cap, first_time, fixed, multiplier, per_amount
from .segments import actions_at_least, in_segment, inactive_for, spent_at_least
from .tiers import (
    Ladder,
    Level,
    keep_for,
    keep_until_period_end,
    keep_while_active,
    ladder,
    level,
)

if TYPE_CHECKING:
    from ._codec import to_data
    from .config import dump_program, load_program
    from .facade import Rewards
    from .storage import MemoryStore, Store, open_store
    from .storage.postgres import PostgresStore
    from .storage.sqlite import SQLiteStore

_LAZY = {
    "Rewards": "rewardkit.facade",
    "MemoryStore": "rewardkit.storage",
    "Store": "rewardkit.storage",
    "open_store": "rewardkit.storage",
    "SQLiteStore": "rewardkit.storage.sqlite",
    "PostgresStore": "rewardkit.storage.postgres",
    "load_program": "rewardkit.config",
    "dump_program": "rewardkit.config",
    "to_data": "rewardkit._codec",
}

__all__ = [
    "DEFAULT_CURRENCY",
    "Action",
    "Award",
    "Badge",
    "BadgeAwarded",
    "BadgeCriterion",
    "BadgeProgress",
    "BadgeState",
    "Cap",
    "ConcurrencyConflict",
    "Condition",
    "Context",
    "DebtSettled",
    "Draw",
    "EarningRule",
    "Entry",
    "EntryKind",
    "Event",
    "ExpiryPolicy",
    "Hold",
    "IdempotencyConflict",
    "InsufficientPoints",
    "InvalidAction",
    "Ladder",
    "Leaderboard",
    "Level",
    "Lot",
    "MemberState",
    "MemberView",
    "MemoryStore",
    "Multiplier",
    "Nudge",
    "NudgeSettings",
    "Outcome",
    "PendingCancelled",
    "PointsEarned",
    "PointsExpired",
    "PointsHeld",
    "PointsReleased",
    "PointsReversed",
    "PostgresStore",
    "Problem",
    "Program",
    "ProgramError",
    "RFMModel",
    "Raffle",
    "RaffleError",
    "ReferralError",
    "ReferralRewarded",
    "ReferralRule",
    "Reward",
    "RewardRedeemed",
    "RewardUnavailable",
    "RewardkitError",
    "Rewards",
    "SQLiteStore",
    "ScoreChange",
    "Standing",
    "Store",
    "StoreError",
    "SweepReport",
    "TicketRule",
    "TicketsBought",
    "TicketsEarned",
    "TicketsTakenBack",
    "TierChanged",
    "TierGraceStarted",
    "TierStatus",
    "UnknownAction",
    "UnknownRaffle",
    "UnknownReward",
    "actions_at_least",
    "always",
    "amount_at_least",
    "amount_below",
    "amount_compare",
    "attribute_compare",
    "attribute_equals",
    "attribute_in",
    "badge",
    "cap",
    "commitment",
    "condition",
    "count",
    "date_between",
    "dump_program",
    "earliest_of",
    "end_of_period",
    "first_time",
    "fixed",
    "fixed_term",
    "has_attribute",
    "in_segment",
    "inactive_for",
    "inactivity",
    "keep_for",
    "keep_until_period_end",
    "keep_while_active",
    "kind",
    "ladder",
    "leaderboard",
    "level",
    "load_program",
    "multiplier",
    "never",
    "never_expire",
    "open_store",
    "pending_for",
    "per_amount",
    "raffle",
    "recurrence",
    "referral",
    "register_badge_criterion",
    "register_condition",
    "register_expiry",
    "register_rule",
    "reward",
    "spent_at_least",
    "streak",
    "threshold",
    "tickets",
    "tier_in",
    "time_between",
    "to_data",
    "until_confirmed",
    "verify_draw",
    "weekday",
    "within",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rewardkit' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
