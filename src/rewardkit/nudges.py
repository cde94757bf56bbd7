"""Nudges: what to tell a member now ("only 25 points to your free coffee").

:func:`nudges` is pure: it reads a member's state (already advanced to ``at``) and the
programme, and returns what is worth saying, each nudge with a ``kind``, structured
``fields``, a ``message`` rendered from a template, a ``key`` that stays the same while
the situation does (so a host sends it once) and the instant the situation began
(``since``).  Days are local calendar days in the programme's zone; windows are measured
on its wall clock, so "30 days" is 30 days across a DST change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from string import Formatter
from typing import TYPE_CHECKING, Any, cast

import attrs
from dateutil.relativedelta import relativedelta

from ._values import freeze, number
from .errors import Problem, ProgramError
from .model import BadgeProgress
from .time import parse_duration, resolve_local

if TYPE_CHECKING:
    from .model import Lot, MemberState
    from .program import Program
    from .rewards import Reward
    from .tiers import Level

__all__ = [
    "KINDS",
    "TEMPLATES_EN",
    "TEMPLATES_ES",
    "TEMPLATE_FIELDS",
    "Nudge",
    "NudgeSettings",
    "nudges",
]

KINDS = (
    "reward_within_reach",
    "points_expiring",
    "tier_at_risk",
    "next_tier",
    "badge_within_reach",
    "inactive",
)
"""Every kind of nudge, in the order :func:`nudges` returns them."""

_DAY = datetime(2026, 1, 1, tzinfo=UTC)
_SAMPLES: Mapping[str, Any] = {  # a value of each field's type, to validate templates
    **dict.fromkeys(("reward", "reward_name", "tier", "tier_name", "reason", "currency"), "x"),
    "currency_one": "x",
    "balance_unit": "x",
    **dict.fromkeys(("badge", "badge_name", "current", "target"), "x"),
    **dict.fromkeys(("cost", "balance", "earned", "points", "days_left", "days"), 7),
    **dict.fromkeys(("inactive_days", "needed", "metric"), 7),
    **{"date": _DAY.date(), "expires_at": _DAY, "last_activity": _DAY},
}
# a tier metric may be an amount spent: tier templates must format a Decimal too
_METRIC_SAMPLES: Mapping[str, Any] = {"needed": Decimal("7.5"), "metric": Decimal("7.5")}
TEMPLATE_FIELDS: Mapping[str, tuple[str, ...]] = {
    "reward_within_reach": (
        "reward",
        "reward_name",
        "cost",
        "balance",
        "needed",
        "earned",
        "currency",
        "currency_one",
        "balance_unit",
    ),
    "points_expiring": ("points", "date", "days_left", "expires_at", "currency", "currency_one"),
    "tier_at_risk": ("tier", "tier_name", "needed", "days_left", "date", "reason"),
    "tier_inactive": ("tier", "tier_name", "inactive_days", "days_left", "date", "reason"),
    "next_tier": ("tier", "tier_name", "needed", "metric"),
    "badge_within_reach": ("badge", "badge_name", "current", "target", "needed"),
    "inactive": ("days", "last_activity"),
}
"""The fields each template may use (a template is named after what it tells)."""

TEMPLATES_EN: Mapping[str, str] = freeze(
    {
        "reward_within_reach": (
            "You have {balance} {balance_unit}: only {needed} more to {reward_name}."
        ),
        "points_expiring": (
            "{points} of your {currency} {points:|expires|expire} on {date}: "
            "{days_left:|# day|# days} left to use {points:|it|them}."
        ),
        "tier_inactive": (
            "You have been inactive for {inactive_days:|# day|# days}: only "
            "{days_left:|# day|# days} left to make a purchase before your {tier_name} "
            "level expires."
        ),
        "tier_at_risk": (
            "{needed} more by {date} to keep your {tier_name} level "
            "({days_left:|# day|# days} left)."
        ),
        "next_tier": "Only {needed} more to reach {tier_name}.",
        "badge_within_reach": "Only {needed} more for {badge_name} ({current} / {target}).",
        "inactive": "We miss you! Your last visit was {days:|# day|# days} ago.",
    }
)
"""The default messages, in English."""

TEMPLATES_ES: Mapping[str, str] = freeze(
    {
        "reward_within_reach": (
            "te felicitamos por ganar {earned:|# punto|# puntos}, ahora sólo "
            "{needed:|es # punto|son # puntos} lejos de alcanzar tu próxima recompensa"
        ),
        "points_expiring": (
            "{points:|# punto|# de tus puntos} {points:|caduca|caducan} el {date:%d/%m/%Y}: "
            "te {days_left:|queda # día|quedan # días} para {points:|usarlo|usarlos}"
        ),
        "tier_inactive": (
            "has estado inactivo durante {inactive_days:|# día|# días}, recuerda que sólo "
            "tienes {days_left:|# día|# días} para realizar una compra, antes de que tu "
            "nivel {tier_name} caduque"
        ),
        "tier_at_risk": (
            "te faltan {needed} para mantener tu nivel {tier_name}: tienes "
            "{days_left:|# día|# días}, hasta el {date:%d/%m/%Y}"
        ),
        "next_tier": "sólo te faltan {needed} para alcanzar el nivel {tier_name}",
        "badge_within_reach": "sólo te faltan {needed} para conseguir {badge_name}",
        "inactive": (
            "te echamos de menos: {days:|ha pasado # día|han pasado # días} desde tu última visita"
        ),
    }
)
"""The Spanish set: the seed article's two messages, word for word, and four more."""


# ---------------------------------------------------------------- plurals


class _Messages(Formatter):
    """``str.format`` plus plural forms: ``{needed:|# point|# points}`` is "1 point" for
    1 and "25 points" otherwise (0 too), ``#`` standing for the number.  Before the first
    ``|`` goes the number's own format (``{balance:,|# point|# points}``: "1,250
    points"), and each form is any text: ``{needed:|es # punto|son # puntos}``."""

    def format_field(self, value: Any, format_spec: str) -> Any:
        if "|" not in format_spec:
            return super().format_field(value, format_spec)
        number, *forms = format_spec.split("|")
        if len(forms) != 2:
            raise ValueError(
                f"a plural is {{field:|one form|other forms}} with # for the number, "
                f"not {{field:{format_spec}}}"
            )
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
            raise ValueError(f"plural forms need a number, not {value!r}")
        form = forms[0] if value == 1 else forms[1]
        return form.replace("#", super().format_field(value, number))


_MESSAGES = _Messages()


def _one_of(currency: str) -> str:
    """One unit of ``currency``, in English: its name less a plural "s" ("points" ->
    "point", "stars" -> "star"; "bonus", "class" and other names stay as they are).
    A programme whose currency is named otherwise writes its own templates."""
    if currency.lower().endswith("s") and not currency.lower().endswith(("ss", "us", "is")):
        return currency[:-1]
    return currency


def _unit(currency: str, count: object) -> str:
    """The currency's name as ``count`` of it reads in English: one unit for exactly 1."""
    return _one_of(currency) if count == 1 else currency


def _render(text: str, fields: Mapping[str, Any]) -> str:
    """A message from its template (with plural forms: see :class:`_Messages`)."""
    return _MESSAGES.vformat(text, (), fields)


# ---------------------------------------------------------------- settings


def _template_problems(name: str, text: object, path: str) -> list[Problem]:
    """What is wrong with one template: an unknown name, an unknown field, a bad format."""
    if name not in TEMPLATE_FIELDS:
        return [
            Problem(path, f"unknown template {name!r} (templates: {', '.join(TEMPLATE_FIELDS)})")
        ]
    if not isinstance(text, str):
        return [Problem(path, f"must be a string, got {text!r}")]
    known = TEMPLATE_FIELDS[name]
    try:
        parsed = list(Formatter().parse(text))
    except ValueError as error:
        return [Problem(path, f"is not a valid template: {error}")]
    samples = {**_SAMPLES, **(_METRIC_SAMPLES if name.startswith(("tier", "next")) else {})}
    for _, field, spec, _ in parsed:
        base = None if field is None else field.split(".")[0].split("[")[0]
        if base is not None and base not in known:
            shown = f"unknown field {{{field}}}" if base else "positional field {}"
            return [Problem(path, f"{shown}: use one of {', '.join(known)}")]
        if base and spec and "|" in spec:
            if spec.count("|") != 2:
                return [
                    Problem(
                        path,
                        f"{{{field}:{spec}}} is not a plural: write {{{field}:|one|other}}, "
                        "with # where the number goes",
                    )
                ]
            if isinstance(samples[base], (str, date)):
                return [Problem(path, f"{{{field}:{spec}}}: plural forms need a number field")]
    try:
        _render(text, {field: samples[field] for field in known})
    except (ValueError, TypeError, AttributeError, LookupError) as error:
        return [Problem(path, f"cannot be rendered: {error}")]
    return []


def _templates(value: Mapping[str, str]) -> Mapping[str, str]:
    return freeze(value) if isinstance(value, Mapping) else value  # refused after init


Duration = relativedelta | timedelta


def _duration(value: Duration | Mapping[str, int] | None) -> relativedelta:
    """A relativedelta (so settings compare equal however they were written)."""
    try:
        span = parse_duration(value)
    except ProgramError:
        return cast(relativedelta, value)  # reported by NudgeSettings.__attrs_post_init__
    if isinstance(span, timedelta):
        return relativedelta(days=span.days, seconds=span.seconds, microseconds=span.microseconds)
    return span


def _optional_duration(value: Duration | Mapping[str, int] | None) -> relativedelta | None:
    return None if value is None else _duration(value)


def _share(value: Decimal | int | str | float) -> Decimal:
    try:
        return number(value, "share")
    except ProgramError:
        return cast(Decimal, value)  # reported by NudgeSettings.__attrs_post_init__


def _kinds(value: Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


@attrs.frozen
class NudgeSettings:
    """When each nudge appears, and the templates its messages come from.

    Durations take a relativedelta, a timedelta or a mapping such as ``{"days": 30}``
    and are measured on the programme's wall clock; shares take a number in [0, 1].
    ``templates`` overrides the English defaults by template name (see :data:`TEMPLATE_FIELDS`);
    ``kinds`` lists the kinds shown.  Every problem is reported at once as a
    :class:`ProgramError` whose paths start with ``nudges.``.
    """

    reward_share: Decimal = attrs.field(default=Decimal(0), converter=_share)
    expiring_within: relativedelta = attrs.field(
        default=relativedelta(days=30), converter=_duration
    )
    tier_risk_within: relativedelta = attrs.field(
        default=relativedelta(days=30), converter=_duration
    )
    next_tier_share: Decimal = attrs.field(default=Decimal("0.5"), converter=_share)
    badge_share: Decimal = attrs.field(default=Decimal("0.5"), converter=_share)
    inactive_after: relativedelta | None = attrs.field(
        default=relativedelta(days=30), converter=_optional_duration
    )
    templates: Mapping[str, str] = attrs.field(factory=dict, converter=_templates, hash=False)
    kinds: tuple[str, ...] = attrs.field(default=KINDS, converter=_kinds)

    def __attrs_post_init__(self) -> None:
        problems: list[Problem] = []
        for name in ("reward_share", "next_tier_share", "badge_share"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not 0 <= value <= 1:
                shown = value if isinstance(value, Decimal) else repr(value)
                problems.append(Problem(f"nudges.{name}", f"must be a number from 0 to 1: {shown}"))
        for name in ("expiring_within", "tier_risk_within", "inactive_after"):
            value = getattr(self, name)
            try:
                if value is not None or name != "inactive_after":
                    parse_duration(value, path=f"nudges.{name}")
            except ProgramError as error:
                problems.extend(error.problems)
        for kind in self.kinds:
            if kind not in KINDS:
                problems.append(
                    Problem("nudges.kinds", f"unknown kind {kind!r} ({', '.join(KINDS)})")
                )
        if not isinstance(self.templates, Mapping):
            problems.append(
                Problem("nudges.templates", f"must map template names to text: {self.templates!r}")
            )
        else:
            for name, text in self.templates.items():
                problems.extend(_template_problems(name, text, f"nudges.templates.{name}"))
        if problems:
            raise ProgramError(problems)

    def template(self, name: str) -> str:
        """The programme's template called ``name``, else the English default."""
        return self.templates.get(name, TEMPLATES_EN[name])


# ---------------------------------------------------------------- nudges


def _fields(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return freeze(value)


@attrs.frozen
class Nudge:
    """One thing worth telling a member now.

    ``key`` is the same for as long as the situation is (per member: store it with the
    member id to send each nudge once); ``since`` is when the situation began;
    ``template`` names the template ``message`` was rendered from.
    """

    kind: str
    key: str
    message: str
    since: datetime
    fields: Mapping[str, Any] = attrs.field(factory=dict, converter=_fields, hash=False)
    template: str = ""

    def render(self, templates: Mapping[str, str]) -> str:
        """The message from other templates (another language), English where missing."""
        text = templates.get(self.template, TEMPLATES_EN[self.template])
        problems = _template_problems(self.template, text, f"templates.{self.template}")
        if problems:
            raise ProgramError(problems)
        fields = self.fields
        if "currency" in fields and "currency_one" not in fields:  # a nudge made without it
            fields = {**fields, "currency_one": _one_of(fields["currency"])}
            if "balance" in fields:
                fields["balance_unit"] = _unit(fields["currency"], fields["balance"])
        return _render(text, fields)


class _Now:
    """What every finder needs: the programme, the member, the instant, local dates."""

    def __init__(self, program: Program, state: MemberState, at: datetime) -> None:
        self.program, self.settings, self.state = program, program.nudges, state
        self.at, self.tz = at.astimezone(UTC), program.tz
        self.today = self.local_date(self.at)

    def local_date(self, instant: datetime) -> date:
        return instant.astimezone(self.tz).date()

    def days_until(self, instant: datetime) -> int:
        return (self.local_date(instant) - self.today).days

    def days_since(self, instant: datetime) -> int:
        return (self.today - self.local_date(instant)).days

    def shift(self, instant: datetime, span: relativedelta) -> datetime:
        """``instant`` + ``span`` on the programme's wall clock (``-span`` goes back)."""
        wall = instant.astimezone(self.tz).replace(tzinfo=None) + span
        return resolve_local(wall, self.tz).astimezone(UTC)

    def nudge(
        self, kind: str, template: str, key: tuple[object, ...], since: datetime, **fields: Any
    ) -> Nudge:
        text = self.settings.template(template)
        key_text = ":".join((kind, *(_iso(part) for part in key)))
        message = _render(text, fields)
        return Nudge(kind, key_text, message, min(since, self.at), fields, template)


def _iso(part: object) -> str:
    return part.astimezone(UTC).isoformat() if isinstance(part, datetime) else str(part)


def _plain(value: Decimal) -> int | Decimal:
    """25 rather than Decimal('25') for whole metric values (points, actions)."""
    return int(value) if value == value.to_integral_value() else value


def _eligible(now: _Now, item: Reward) -> bool:
    """Could the member redeem ``item`` now, given the points (stock is not known here)?"""
    at, ladder, tier = now.at, now.program.tiers, now.state.tier
    if item.currency != now.program.currency:
        return False
    if item.available_from is not None and at < item.available_from:
        return False
    if item.available_until is not None and at >= item.available_until:
        return False
    if item.min_tier is None:
        return True
    held = tier.level if tier else None
    return ladder is not None and ladder.rank(held) >= ladder.rank(item.min_tier)


def _reward_within_reach(now: _Now) -> Nudge | None:
    state, currency = now.state, now.program.currency
    balance = state.balance(currency, now.at)
    out_of_reach = [r for r in now.program.rewards if _eligible(now, r) and r.cost > balance]
    if not out_of_reach:
        return None
    item = min(out_of_reach, key=lambda r: r.cost)  # min keeps the first of equal costs
    if balance < now.settings.reward_share * item.cost:
        return None
    starts = [state.last_activity or now.at] + ([state.tier.since] if state.tier else [])
    starts += [item.available_from] if item.available_from is not None else []
    needed = item.cost - balance + state.debt(currency)  # a debt absorbs earnings first
    return now.nudge(
        "reward_within_reach", "reward_within_reach", (item.id, balance), max(starts),
        reward=item.id, reward_name=item.name, cost=item.cost, balance=balance,
        needed=needed, earned=state.last_earned, currency=currency,
        currency_one=_one_of(currency),
        balance_unit=_unit(currency, balance),
    )  # fmt: skip


def _points_expiring(now: _Now) -> Nudge | None:
    lots: list[tuple[datetime, Lot]] = [
        (lot.expires_at, lot)
        for lot in now.state.lots
        if lot.currency == now.program.currency
        and lot.usable_at(now.at)
        and lot.expires_at is not None
    ]
    if not lots:
        return None
    first = min(expires for expires, _ in lots)
    earned = min(lot.earned_at for expires, lot in lots if expires == first)
    since = max(now.shift(first, -now.settings.expiring_within), earned)
    if now.at < since:
        return None
    day = now.local_date(first)
    points = sum(lot.remaining for expires, lot in lots if now.local_date(expires) == day)
    return now.nudge(
        "points_expiring", "points_expiring", (first,), since,
        points=points, date=day, days_left=now.days_until(first), expires_at=first,
        currency=now.program.currency, currency_one=_one_of(now.program.currency),
    )  # fmt: skip


def _tier_at_risk(now: _Now) -> Nudge | None:
    """The level will be lost at its next review (or the end of its grace) unless the
    member acts: the metric projected to that instant, without further activity, falls
    short of the level's threshold."""
    ladder, status = now.program.tiers, now.state.tier
    if ladder is None or status is None:
        return None
    ends = status.grace_until if status.grace_until is not None else status.review_at
    if ends is None:
        return None
    level: Level = ladder.get(status.level)
    projected = ladder.value_at_review(now.state.metric, ends, now.tz, ordered=now.state._canonical)
    lapses = ladder.keep.uses_activity and status.grace_until is None  # whatever the metric
    if projected >= level.threshold and not lapses:
        return None
    since = max(now.shift(ends, -now.settings.tier_risk_within), status.since)
    if now.at < since:
        return None
    common: dict[str, Any] = {
        "tier": level.id,
        "tier_name": level.title,
        "days_left": now.days_until(ends),
        "date": now.local_date(ends),
    }
    if status.grace_until is None and ladder.keep.uses_activity:
        last = now.state.tier_activity or status.since
        return now.nudge(
            "tier_at_risk", "tier_inactive", ("inactivity", level.id, ends), since,
            inactive_days=now.days_since(last), reason="inactivity", **common,
        )  # fmt: skip
    reason = "grace" if status.grace_until is not None else "metric"
    return now.nudge(
        "tier_at_risk", "tier_at_risk", (reason, level.id, ends), since,
        needed=_plain(level.threshold - projected), reason=reason, **common,
    )  # fmt: skip


def _badge_within_reach(now: _Now) -> Nudge | None:
    """The visible badge the member is closest to, once past ``badge_share`` of it."""
    best: tuple[Decimal, Any, Decimal, Decimal] | None = None
    for item in now.program.badges:
        record = now.state.badges.get(item.id)
        earned = record is not None and record.awarded > 0
        if (item.hidden and not earned) or (earned and not item.repeatable):
            continue
        progress = record.progress if record is not None else BadgeProgress()
        current, target = item.criterion.standing(progress, now.at, now.tz)
        share = current / target
        reachable = current < target and share >= now.settings.badge_share and share > 0
        if reachable and (best is None or share > best[0]):
            best = (share, item, current, target)
    if best is None:
        return None
    _, item, current, target = best
    since = now.state.last_activity or now.at
    return now.nudge(
        "badge_within_reach", "badge_within_reach", (item.id, _plain(current)), since,
        badge=item.id, badge_name=item.title, current=_plain(current), target=_plain(target),
        needed=_plain(target - current),
    )  # fmt: skip


def _next_tier(now: _Now) -> Nudge | None:
    ladder, status = now.program.tiers, now.state.tier
    target = None if ladder is None else ladder.next_level(status.level if status else None)
    if ladder is None or target is None:
        return None
    metric = ladder.value(now.state.metric, now.at, now.tz, ordered=now.state._canonical)
    if metric >= target.threshold or metric < now.settings.next_tier_share * target.threshold:
        return None
    starts = [c.at for c in now.state.metric if c.at <= now.at]
    starts += [status.since] if status else []
    since = max(starts) if starts else (now.state.first_seen or now.at)
    return now.nudge(
        "next_tier", "next_tier", (target.id, _plain(metric)), since,
        tier=target.id, tier_name=target.title, needed=_plain(target.threshold - metric),
        metric=_plain(metric),
    )  # fmt: skip


def _inactive(now: _Now) -> Nudge | None:
    span, last = now.settings.inactive_after, now.state.last_activity
    if span is None or last is None or now.at < now.shift(last, span):
        return None
    return now.nudge(
        "inactive", "inactive", (last,), now.shift(last, span),
        days=now.days_since(last), last_activity=last,
    )  # fmt: skip


_FINDERS: Mapping[str, Callable[[_Now], Nudge | None]] = {
    "reward_within_reach": _reward_within_reach,
    "points_expiring": _points_expiring,
    "tier_at_risk": _tier_at_risk,
    "next_tier": _next_tier,
    "badge_within_reach": _badge_within_reach,
    "inactive": _inactive,
}


def nudges(program: Program, state: MemberState, at: datetime) -> tuple[Nudge, ...]:
    """The nudges for ``state`` (already advanced to ``at``) at ``at``, in :data:`KINDS`
    order.  A member never seen (no action yet) gets none."""
    if state.first_seen is None and state.last_activity is None and not state.lots:
        return ()
    now = _Now(program, state, at)
    found = (_FINDERS[kind](now) for kind in KINDS if kind in program.nudges.kinds)
    return tuple(nudge for nudge in found if nudge is not None)
