"""Nudges: the next reward within reach, points about to expire, a tier at risk or within
reach, inactivity — with the seed's two messages word for word, exact window boundaries,
stable keys and ``since=``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rewardkit as rk
from rewardkit.nudges import KINDS, TEMPLATES_EN, TEMPLATES_ES, nudges

MADRID = ZoneInfo("Europe/Madrid")
TICK = timedelta(microseconds=1)

SEED_REWARD = (
    "te felicitamos por ganar 75 puntos, ahora sólo son 25 puntos lejos de alcanzar tu "
    "próxima recompensa"
)
SEED_GOLD = (
    "has estado inactivo durante 156 días, recuerda que sólo tienes 24 días para realizar "
    "una compra, antes de que tu nivel Gold caduque"
)


def at(text: str) -> datetime:
    """A Madrid wall-clock instant."""
    return datetime.fromisoformat(text).replace(tzinfo=MADRID)


def gold_ladder(**overrides: Any) -> rk.Ladder:
    """Gold from 500 points over 90 days, kept while there is a purchase every 180 days."""
    options: dict[str, Any] = {
        "metric": "points_earned",
        "levels": [rk.level("gold", 500, name="Gold")],
        "window": {"days": 90},
        "keep": rk.keep_while_active({"days": 180}),
    }
    options.update(overrides)
    return rk.ladder(**options)


def cafe(*, templates: Mapping[str, str] | None = None, **options: Any) -> rk.Program:
    """Café Aroma: 1 point per euro, a free coffee for 100; nudge settings from options."""
    known = {"name", "rewards", "tiers", "expiry", "currencies", "rules"}
    program = {k: v for k, v in options.items() if k in known}
    nudge = {k: v for k, v in options.items() if k not in known}
    if templates is not None:
        nudge["templates"] = templates
    rewards = (rk.reward("free-coffee", cost=100, name="a free coffee"),)
    return rk.Program(
        name=program.pop("name", "Café Aroma"),
        timezone="Europe/Madrid",
        rules=program.pop("rules", (rk.per_amount("base", on="purchase", per="1.00", points=1),)),
        rewards=program.pop("rewards", rewards),
        nudges=rk.NudgeSettings(**nudge),
        **program,
    )


def buy(kit: rk.Rewards, id: str, amount: str | int, when: datetime) -> rk.Outcome:
    return kit.record(rk.Action(id=id, member="ana", kind="purchase", at=when, amount=amount))


def kinds(found: list[rk.Nudge]) -> list[str]:
    return [n.kind for n in found]


def one(found: list[rk.Nudge], kind: str) -> rk.Nudge:
    matching = [n for n in found if n.kind == kind]
    assert len(matching) == 1, found
    return matching[0]


# ---------------------------------------------------------------- the seed, word for word


def test_seed_75_points_earned_with_a_100_point_reward_gives_the_25_points_message() -> None:
    kit = rk.Rewards(cafe(templates=TEMPLATES_ES))
    buy(kit, "order-1", "75.00", at("2026-03-07 09:30"))
    found = kit.nudges("ana", at=at("2026-03-07 09:31"))
    nudge = one(found, "reward_within_reach")
    assert nudge.message == SEED_REWARD
    assert dict(nudge.fields) == {
        "reward": "free-coffee",
        "reward_name": "a free coffee",
        "cost": 100,
        "balance": 75,
        "needed": 25,
        "earned": 75,
        "currency": "points",
        "currency_one": "point",
        "balance_unit": "points",
    }


def test_seed_gold_member_inactive_156_days_is_told_24_days_are_left() -> None:
    kit = rk.Rewards(cafe(templates=TEMPLATES_ES, tiers=gold_ladder()))
    buy(kit, "order-1", "600.00", at("2026-09-01 12:00"))
    assert kit.member("ana", at=at("2026-09-01 12:00")).tier == "gold"
    nudge = one(kit.nudges("ana", at=at("2027-02-04 12:00")), "tier_at_risk")  # + 156 days
    assert nudge.message == SEED_GOLD
    assert nudge.fields["reason"] == "inactivity" and nudge.fields["date"] == date(2027, 2, 28)


def test_seed_gold_message_counts_calendar_days_across_the_spring_dst_change() -> None:
    # 156 calendar days, but 156 days minus one hour of elapsed time: a day counter
    # based on elapsed time would say 155.
    kit = rk.Rewards(cafe(templates=TEMPLATES_ES, tiers=gold_ladder()))
    buy(kit, "order-1", "600.00", at("2026-01-20 00:30"))
    when = at("2026-06-25 00:30")
    assert (when.astimezone(UTC) - at("2026-01-20 00:30").astimezone(UTC)).days == 155
    assert one(kit.nudges("ana", at=when), "tier_at_risk").message == SEED_GOLD


def test_seed_gold_message_across_the_autumn_dst_change() -> None:
    kit = rk.Rewards(cafe(templates=TEMPLATES_ES, tiers=gold_ladder()))
    buy(kit, "order-1", "600.00", at("2026-07-01 23:30"))
    assert one(kit.nudges("ana", at=at("2026-12-04 23:30")), "tier_at_risk").message == SEED_GOLD


# ---------------------------------------------------------------- reward within reach


def test_reward_within_reach_appears_from_the_share_of_the_cost_held() -> None:
    kit = rk.Rewards(cafe(reward_share="0.75"))
    buy(kit, "order-1", "74.00", at("2026-03-02 10:00"))
    assert kit.nudges("ana", at=at("2026-03-02 11:00")) == []
    buy(kit, "order-2", "1.00", at("2026-03-02 12:00"))
    nudge = one(kit.nudges("ana", at=at("2026-03-05 18:00")), "reward_within_reach")
    assert (nudge.fields["needed"], nudge.since) == (25, at("2026-03-02 12:00"))


def test_reward_within_reach_moves_to_the_next_reward_once_one_is_affordable() -> None:
    rewards = (rk.reward("free-coffee", cost=100), rk.reward("mug", cost=300, name="a mug"))
    kit = rk.Rewards(cafe(rewards=rewards))
    buy(kit, "order-1", "100.00", at("2026-03-02 10:00"))
    nudge = one(kit.nudges("ana", at=at("2026-03-02 10:00")), "reward_within_reach")
    assert (nudge.fields["reward"], nudge.fields["needed"]) == ("mug", 200)
    assert nudge.message == "You have 100 points: only 200 more to a mug."


def test_reward_within_reach_skips_rewards_out_of_their_window_or_above_the_tier() -> None:
    rewards = (
        rk.reward("gold-brunch", cost=150, min_tier="gold"),
        rk.reward("summer-ice", cost=120, available_from=at("2026-06-01 00:00")),
        rk.reward("winter-tea", cost=130, available_until=at("2026-03-01 00:00")),
        rk.reward("mug", cost=300),
    )
    kit = rk.Rewards(cafe(rewards=rewards, tiers=gold_ladder()))
    buy(kit, "order-1", "110.00", at("2026-03-02 10:00"))
    found = kit.nudges("ana", at=at("2026-03-02 10:00"))
    assert one(found, "reward_within_reach").fields["reward"] == "mug"
    june = one(kit.nudges("ana", at=at("2026-06-01 00:00")), "reward_within_reach")
    assert (june.fields["reward"], june.since) == ("summer-ice", at("2026-06-01 00:00"))


def test_reward_within_reach_counts_a_debt_in_the_points_needed() -> None:
    kit = rk.Rewards(cafe())
    buy(kit, "order-1", "150.00", at("2026-03-02 10:00"))
    kit.redeem("ana", "free-coffee", id="redeem-1", at=at("2026-03-02 10:05"))
    kit.reverse("order-1", id="refund-1", at=at("2026-03-02 10:10"))  # 100 spent: a debt
    nudge = one(kit.nudges("ana", at=at("2026-03-02 10:10")), "reward_within_reach")
    assert (nudge.fields["balance"], nudge.fields["needed"]) == (0, 200)


def test_a_member_never_seen_gets_no_nudges() -> None:
    assert rk.Rewards(cafe()).nudges("nobody", at=at("2026-03-02 10:00")) == []


# ---------------------------------------------------------------- points expiring


def expiring_kit(**options: Any) -> rk.Rewards:
    return rk.Rewards(cafe(expiry=rk.fixed_term({"months": 2}), **options))


def test_points_expiring_appears_exactly_the_window_before_the_expiry_instant() -> None:
    kit = expiring_kit()
    buy(kit, "order-1", "40.00", at("2026-02-10 12:00"))  # expires 2026-04-10 12:00 (CEST)
    start = at("2026-03-11 12:00")  # 30 days before, on the wall clock, across the DST change
    assert "points_expiring" not in kinds(kit.nudges("ana", at=start - TICK))
    nudge = one(kit.nudges("ana", at=start), "points_expiring")
    assert nudge.since == start
    assert dict(nudge.fields) == {
        "points": 40,
        "date": date(2026, 4, 10),
        "days_left": 30,
        "expires_at": at("2026-04-10 12:00"),
        "currency": "points",
        "currency_one": "point",
    }
    assert nudge.message == "40 of your points expire on 2026-04-10: 30 days left to use them."


def test_points_expiring_lasts_until_the_instant_before_expiry_then_goes() -> None:
    kit = expiring_kit()
    buy(kit, "order-1", "40.00", at("2026-02-10 12:00"))
    last = one(kit.nudges("ana", at=at("2026-04-10 12:00") - TICK), "points_expiring")
    assert last.fields["days_left"] == 0
    assert "points_expiring" not in kinds(kit.nudges("ana", at=at("2026-04-10 12:00")))


def test_points_expiring_sums_the_points_of_the_earliest_local_date_only() -> None:
    kit = expiring_kit(expiring_within={"days": 60})
    buy(kit, "order-1", "40.00", at("2026-02-10 09:00"))
    buy(kit, "order-2", "15.00", at("2026-02-10 23:30"))  # same local date, later instant
    buy(kit, "order-3", "30.00", at("2026-02-11 00:30"))  # the next day
    nudge = one(kit.nudges("ana", at=at("2026-03-01 10:00")), "points_expiring")
    assert (nudge.fields["points"], nudge.fields["date"]) == (55, date(2026, 4, 10))
    assert nudge.fields["expires_at"] == at("2026-04-10 09:00")


def test_points_expiring_is_not_shown_before_the_points_were_earned() -> None:
    kit = expiring_kit(expiring_within={"days": 90})  # longer than the 2-month term
    buy(kit, "order-1", "40.00", at("2026-02-10 12:00"))
    nudge = one(kit.nudges("ana", at=at("2026-02-10 12:00")), "points_expiring")
    assert nudge.since == at("2026-02-10 12:00")


def test_spent_points_are_not_announced_as_expiring() -> None:
    kit = expiring_kit(rewards=(rk.reward("free-coffee", cost=40),))
    buy(kit, "order-1", "40.00", at("2026-02-10 12:00"))
    kit.redeem("ana", "free-coffee", id="redeem-1", at=at("2026-02-11 12:00"))
    assert "points_expiring" not in kinds(kit.nudges("ana", at=at("2026-04-01 12:00")))


# ---------------------------------------------------------------- tier at risk


def test_tier_inactivity_nudge_starts_exactly_the_window_before_the_level_lapses() -> None:
    kit = rk.Rewards(cafe(tiers=gold_ladder()))
    buy(kit, "order-1", "600.00", at("2026-01-10 12:00"))  # reviewed 2026-07-09 12:00
    start = at("2026-06-09 12:00")
    assert "tier_at_risk" not in kinds(kit.nudges("ana", at=start - TICK))
    nudge = one(kit.nudges("ana", at=start), "tier_at_risk")
    assert (nudge.since, nudge.fields["days_left"], nudge.template) == (start, 30, "tier_inactive")
    assert nudge.message == (
        "You have been inactive for 150 days: only 30 days left to make a purchase "
        "before your Gold level expires."
    )
    assert one(kit.nudges("ana", at=at("2026-07-09 12:00") - TICK), "tier_at_risk")
    lapsed = kit.nudges("ana", at=at("2026-07-09 12:00"))
    assert kit.member("ana", at=at("2026-07-09 12:00")).tier is None
    assert "tier_at_risk" not in kinds(lapsed)


def test_a_purchase_pushes_the_inactivity_nudge_away_and_gives_it_a_new_key() -> None:
    kit = rk.Rewards(cafe(tiers=gold_ladder()))
    buy(kit, "order-1", "600.00", at("2026-01-10 12:00"))
    before = one(kit.nudges("ana", at=at("2026-06-20 12:00")), "tier_at_risk")
    buy(kit, "order-2", "5.00", at("2026-06-20 12:00"))
    assert "tier_at_risk" not in kinds(kit.nudges("ana", at=at("2026-06-20 12:00")))
    later = one(kit.nudges("ana", at=at("2026-11-20 12:00")), "tier_at_risk")
    assert later.key != before.key and later.fields["inactive_days"] == 153


def test_an_inactive_level_is_at_risk_even_when_the_metric_still_holds_it() -> None:
    kit = rk.Rewards(cafe(tiers=gold_ladder(window={"months": 12})))
    buy(kit, "order-1", "600.00", at("2026-01-10 12:00"))
    # Inactive for the whole hold: Gold lapses even though the 12-month metric qualifies.
    assert "tier_at_risk" in kinds(kit.nudges("ana", at=at("2026-07-01 12:00")))
    assert kit.member("ana", at=at("2026-07-10 12:00")).tier is None


def test_no_tier_nudge_when_the_metric_still_holds_the_level_at_a_term_review() -> None:
    ladder = gold_ladder(window={"months": 12}, keep=rk.keep_for({"months": 6}))
    kit = rk.Rewards(cafe(tiers=ladder))
    buy(kit, "order-1", "600.00", at("2026-01-10 12:00"))
    assert "tier_at_risk" not in kinds(kit.nudges("ana", at=at("2026-07-01 12:00")))
    assert kit.member("ana", at=at("2026-07-10 12:00")).tier == "gold"


def test_tier_at_risk_on_the_metric_says_what_is_needed_before_the_review() -> None:
    ladder = gold_ladder(window={"months": 6}, keep=rk.keep_for({"months": 12}))
    kit = rk.Rewards(cafe(tiers=ladder, templates=TEMPLATES_ES))
    buy(kit, "order-1", "600.00", at("2026-01-10 12:00"))  # reviewed 2027-01-10 12:00
    buy(kit, "order-2", "200.00", at("2026-11-01 12:00"))  # still in the window then
    start = at("2026-12-11 12:00")
    assert "tier_at_risk" not in kinds(kit.nudges("ana", at=start - TICK))
    nudge = one(kit.nudges("ana", at=start), "tier_at_risk")
    assert dict(nudge.fields) == {
        "tier": "gold",
        "tier_name": "Gold",
        "needed": 300,
        "days_left": 30,
        "date": date(2027, 1, 10),
        "reason": "metric",
    }
    assert nudge.message == (
        "te faltan 300 para mantener tu nivel Gold: tienes 30 días, hasta el 10/01/2027"
    )


def test_tier_at_risk_during_grace_counts_down_to_the_end_of_grace() -> None:
    ladder = gold_ladder(window={"months": 6}, keep=rk.keep_for({"months": 6}), grace={"days": 20})
    kit = rk.Rewards(cafe(tiers=ladder, tier_risk_within={"days": 10}))
    buy(kit, "order-1", "600.00", at("2026-01-10 12:00"))  # reviewed 2026-07-10 12:00
    on_grace = at("2026-07-10 12:00")
    assert kit.member("ana", at=on_grace).tier == "gold"
    assert "tier_at_risk" not in kinds(kit.nudges("ana", at=at("2026-07-20 12:00") - TICK))
    nudge = one(kit.nudges("ana", at=at("2026-07-20 12:00")), "tier_at_risk")
    assert (nudge.fields["reason"], nudge.fields["days_left"]) == ("grace", 10)
    assert nudge.fields["needed"] == 500 and nudge.key.startswith("tier_at_risk:grace:gold:")


# ---------------------------------------------------------------- next tier, inactivity


def two_levels() -> rk.Ladder:
    return rk.ladder(
        metric="points_earned",
        levels=[rk.level("silver", 100), rk.level("gold", 300)],
        window={"months": 12},
    )


def test_next_tier_appears_from_its_share_of_the_threshold() -> None:
    kit = rk.Rewards(cafe(tiers=two_levels(), next_tier_share="0.5", reward_share=1))
    buy(kit, "order-1", "49.00", at("2026-03-02 10:00"))
    assert "next_tier" not in kinds(kit.nudges("ana", at=at("2026-03-02 10:00")))
    buy(kit, "order-2", "1.00", at("2026-03-02 11:00"))
    nudge = one(kit.nudges("ana", at=at("2026-03-02 11:00")), "next_tier")
    assert dict(nudge.fields) == {
        "tier": "silver",
        "tier_name": "Silver",
        "needed": 50,
        "metric": 50,
    }
    assert nudge.message == "Only 50 more to reach Silver."


def test_next_tier_names_the_level_above_the_one_held() -> None:
    kit = rk.Rewards(cafe(tiers=two_levels()))
    buy(kit, "order-1", "200.00", at("2026-03-02 10:00"))
    nudge = one(kit.nudges("ana", at=at("2026-03-02 10:00")), "next_tier")
    assert (nudge.fields["tier"], nudge.fields["needed"]) == ("gold", 100)


def test_inactive_appears_exactly_after_the_inactivity_span() -> None:
    kit = rk.Rewards(cafe(inactive_after={"days": 45}, reward_share=1))
    buy(kit, "order-1", "10.00", at("2026-03-01 20:00"))
    start = at("2026-04-15 20:00")  # 45 wall-clock days, across the DST change
    assert kit.nudges("ana", at=start - TICK) == []
    nudge = one(kit.nudges("ana", at=start), "inactive")
    assert (nudge.since, nudge.fields["days"]) == (start, 45)
    assert nudge.message == "We miss you! Your last visit was 45 days ago."


def test_inactive_can_be_switched_off_and_kinds_chosen() -> None:
    kit = rk.Rewards(cafe(inactive_after=None))
    buy(kit, "order-1", "10.00", at("2026-03-01 20:00"))
    assert kinds(kit.nudges("ana", at=at("2027-03-01 20:00"))) == ["reward_within_reach"]
    quiet = rk.Rewards(cafe(kinds=["inactive"]))
    buy(quiet, "order-1", "10.00", at("2026-03-01 20:00"))
    assert kinds(quiet.nudges("ana", at=at("2027-03-01 20:00"))) == ["inactive"]


def test_nudges_come_in_a_stable_order() -> None:
    rewards = (rk.reward("free-coffee", cost=100), rk.reward("espresso-machine", cost=1000))
    kit = rk.Rewards(
        cafe(tiers=gold_ladder(), expiry=rk.fixed_term({"months": 6}), rewards=rewards)
    )
    buy(kit, "order-1", "600.00", at("2026-01-10 12:00"))
    found = kit.nudges("ana", at=at("2026-06-20 12:00"))
    assert kinds(found) == ["reward_within_reach", "points_expiring", "tier_at_risk", "inactive"]
    assert kinds(found) == [k for k in KINDS if k in kinds(found)]


# ---------------------------------------------------------------- keys and since=


def test_the_same_situation_keeps_the_same_key_and_since() -> None:
    kit = rk.Rewards(cafe(tiers=gold_ladder(), templates=TEMPLATES_ES))
    buy(kit, "order-1", "600.00", at("2026-01-10 12:00"))
    early = kit.nudges("ana", at=at("2026-06-10 12:00"))
    late = kit.nudges("ana", at=at("2026-07-01 08:00"))
    assert [(n.key, n.since) for n in early] == [(n.key, n.since) for n in late]
    assert [n.message for n in early] != [n.message for n in late]  # days_left moved on


def test_since_returns_only_nudges_whose_situation_began_after_it() -> None:
    rewards = (rk.reward("espresso-machine", cost=1000),)
    kit = rk.Rewards(cafe(tiers=gold_ladder(), rewards=rewards))
    buy(kit, "order-1", "600.00", at("2026-01-10 12:00"))
    checked = at("2026-06-01 09:00")
    sent = kit.nudges("ana", at=checked)
    assert kinds(sent) == ["reward_within_reach", "inactive"]
    again = kit.nudges("ana", at=at("2026-06-15 09:00"), since=checked)
    assert kinds(again) == ["tier_at_risk"]  # began 2026-06-09 12:00, after the last check
    assert again[0].since == at("2026-06-09 12:00")
    assert kit.nudges("ana", at=at("2026-06-20 09:00"), since=at("2026-06-15 09:00")) == []


def test_a_purchase_makes_a_new_reward_nudge_with_a_new_key() -> None:
    kit = rk.Rewards(cafe())
    buy(kit, "order-1", "30.00", at("2026-03-02 10:00"))
    first = one(kit.nudges("ana", at=at("2026-03-02 10:00")), "reward_within_reach")
    assert kit.nudges("ana", at=at("2026-03-02 18:00"), since=at("2026-03-02 10:00")) == []
    buy(kit, "order-2", "45.00", at("2026-03-03 10:00"))
    new = kit.nudges("ana", at=at("2026-03-03 10:00"), since=at("2026-03-02 10:00"))
    second = one(new, "reward_within_reach")
    assert first.key == "reward_within_reach:free-coffee:30"
    assert second.key == "reward_within_reach:free-coffee:75"


# ---------------------------------------------------------------- templates


def test_english_defaults_cover_every_template_and_the_spanish_set_matches_them() -> None:
    assert set(TEMPLATES_EN) == set(TEMPLATES_ES)
    assert set(TEMPLATES_EN) == {
        "reward_within_reach",
        "points_expiring",
        "tier_inactive",
        "tier_at_risk",
        "next_tier",
        "badge_within_reach",
        "inactive",
    }
    assert rk.NudgeSettings(templates=TEMPLATES_ES).templates == TEMPLATES_ES


def test_a_programme_template_overrides_one_default_and_keeps_the_others() -> None:
    kit = rk.Rewards(
        cafe(templates={"reward_within_reach": "{needed} to {reward_name}!"}, inactive_after=None)
    )
    buy(kit, "order-1", "75.00", at("2026-03-02 10:00"))
    rewards = kit.nudges("ana", at=at("2026-03-02 10:00"))
    assert [n.message for n in rewards] == ["25 to a free coffee!"]


def test_a_nudge_renders_in_another_language_from_its_fields() -> None:
    kit = rk.Rewards(cafe())
    buy(kit, "order-1", "75.00", at("2026-03-02 10:00"))
    nudge = one(kit.nudges("ana", at=at("2026-03-02 10:00")), "reward_within_reach")
    assert nudge.message == "You have 75 points: only 25 more to a free coffee."
    assert nudge.render(TEMPLATES_ES) == SEED_REWARD


def test_a_template_with_an_unknown_field_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(rk.ProgramError) as caught:
        rk.NudgeSettings(templates={"reward_within_reach": "only {missing} to go"})
    (problem,) = caught.value.problems
    assert problem.path == "nudges.templates.reward_within_reach"
    assert problem.message == (
        "unknown field {missing}: use one of reward, reward_name, cost, balance, needed, earned, "
        "currency, currency_one, balance_unit"
    )


def test_a_field_inside_a_plural_form_is_checked_too() -> None:
    with pytest.raises(rk.ProgramError, match="cannot be rendered: 'unit'"):
        rk.NudgeSettings(templates={"reward_within_reach": "{balance:|# {unit}|# {currency}}"})


@pytest.mark.parametrize(
    ("currency", "balance", "said"),
    [
        ("points", 1, "You have 1 point:"),
        ("points", 2, "You have 2 points:"),
        ("stars", 1, "You have 1 star:"),
        ("bonus", 1, "You have 1 bonus:"),
        ("miles", 0, "You have 0 miles:"),
        ("#tags", 1, "You have 1 #tag:"),  # a name is never read as a template
        ("pts|x", 1, "You have 1 pts|x:"),
    ],
)
def test_the_english_balance_agrees_with_its_number(currency: str, balance: int, said: str) -> None:
    fields = {**REWARD_FIELDS, "balance": balance, "needed": 5, "currency": currency}
    nudge = rk.Nudge("x", "k", "", datetime(2026, 1, 1, tzinfo=UTC), fields, "reward_within_reach")
    assert nudge.render({}).startswith(said)


@pytest.mark.parametrize(
    ("templates", "path", "message"),
    [
        ({"reward": "x"}, "nudges.templates.reward", "unknown template 'reward'"),
        ({"inactive": "{} days"}, "nudges.templates.inactive", "positional field {}"),
        ({"inactive": "{days"}, "nudges.templates.inactive", "is not a valid template"),
        ({"inactive": "{days:%Y}"}, "nudges.templates.inactive", "cannot be rendered"),
        ({"next_tier": "{needed:d} more"}, "nudges.templates.next_tier", "cannot be rendered"),
        ({"inactive": 5}, "nudges.templates.inactive", "must be a string"),
        ({"tier_inactive": "{tier_name.upper}"}, None, None),  # attribute access is fine
    ],
)
def test_templates_are_checked_when_the_settings_are_made(
    templates: dict[str, Any], path: str | None, message: str | None
) -> None:
    if path is None:
        rk.NudgeSettings(templates=templates)
        return
    with pytest.raises(rk.ProgramError) as caught:
        rk.NudgeSettings(templates=templates)
    (problem,) = caught.value.problems
    assert problem.path == path and message is not None and message in problem.message


def test_every_settings_problem_is_reported_at_once() -> None:
    with pytest.raises(rk.ProgramError) as caught:
        rk.NudgeSettings(
            reward_share="1.5",
            next_tier_share=-1,
            expiring_within={"days": -3},
            inactive_after="soon",  # type: ignore[arg-type]
            kinds=["reward_within_reach", "birthday"],
            templates={"inactive": "{when}"},
        )
    assert [p.path for p in caught.value.problems] == [
        "nudges.reward_share",
        "nudges.next_tier_share",
        "nudges.expiring_within",
        "nudges.inactive_after",
        "nudges.kinds",
        "nudges.templates.inactive",
    ]
    assert str(caught.value.problems[0]) == "nudges.reward_share: must be a number from 0 to 1: 1.5"


def test_settings_written_as_data_equal_settings_written_in_code() -> None:
    from dateutil.relativedelta import relativedelta

    as_data = rk.NudgeSettings(
        reward_share="0.5", expiring_within={"days": 30}, inactive_after={"weeks": 2}
    )
    in_code = rk.NudgeSettings(
        reward_share=Decimal("0.5"),
        expiring_within=timedelta(days=30),
        inactive_after=relativedelta(days=14),
    )
    assert as_data == in_code and hash(as_data) == hash(in_code)
    assert rk.NudgeSettings() == rk.NudgeSettings(expiring_within=relativedelta(days=30))


# ---------------------------------------------------------------- properties


@st.composite
def catalogues(draw: st.DrawFn) -> tuple[rk.Reward, ...]:
    costs = draw(st.lists(st.integers(1, 400), min_size=1, max_size=6))
    items = []
    for i, cost in enumerate(costs):
        window = draw(st.sampled_from(["always", "past", "future"]))
        until = datetime(2026, 1, 1, tzinfo=UTC) if window == "past" else None
        since = datetime(2027, 1, 1, tzinfo=UTC) if window == "future" else None
        tier = draw(st.sampled_from([None, "silver", "gold"]))
        items.append(
            rk.reward(
                f"r{i}", cost=cost, min_tier=tier, available_from=since, available_until=until
            )
        )
    return tuple(items)


NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


@settings(max_examples=150, deadline=None)
@given(
    rewards=catalogues(),
    balances=st.lists(st.integers(1, 200), max_size=4),
    tier=st.sampled_from([None, "silver", "gold"]),
    share=st.sampled_from(["0", "0.5", "0.9", "1"]),
)
def test_reward_within_reach_is_the_cheapest_eligible_reward_not_yet_affordable(
    rewards: tuple[rk.Reward, ...], balances: list[int], tier: str | None, share: str
) -> None:
    ladder = rk.ladder(
        metric="points_earned", levels=[rk.level("silver", 100), rk.level("gold", 300)]
    )
    program = rk.Program(
        name="p",
        rewards=rewards,
        tiers=ladder,
        nudges=rk.NudgeSettings(reward_share=share, kinds=["reward_within_reach"]),
    )
    lots = tuple(
        rk.Lot(f"l{i}", "points", p, p, NOW - timedelta(days=1), None, f"a{i}", "base")
        for i, p in enumerate(balances)
    )
    status = None if tier is None else rk.TierStatus(tier, NOW - timedelta(days=1))
    state = rk.MemberState(id="ana", lots=lots, first_seen=NOW, last_activity=NOW, tier=status)
    balance = sum(balances)
    rank = {None: 0, "silver": 1, "gold": 2}
    eligible = [
        r
        for r in rewards
        if r.available_from is None
        and r.available_until is None
        and rank[r.min_tier] <= rank[tier]
        and r.cost > balance
    ]
    found = nudges(program, state, NOW)
    if not eligible or balance < Decimal(share) * min(r.cost for r in eligible):
        assert found == ()
        return
    (nudge,) = found
    cheapest = min(r.cost for r in eligible)
    assert nudge.fields["needed"] == nudge.fields["cost"] - balance == cheapest - balance > 0
    chosen = program.reward(nudge.fields["reward"])
    assert chosen in eligible and chosen == next(r for r in eligible if r.cost == cheapest)
    assert nudge.key == f"reward_within_reach:{chosen.id}:{balance}"


@settings(max_examples=60, deadline=None)
@given(
    days=st.integers(0, 400),
    minutes=st.integers(0, 24 * 60 - 1),
)
def test_inactive_days_are_local_calendar_days_whatever_the_hour(days: int, minutes: int) -> None:
    program = rk.Program(
        name="p", timezone="Europe/Madrid", nudges=rk.NudgeSettings(inactive_after={"minutes": 1})
    )
    last = datetime(2026, 1, 31, 0, 0, tzinfo=MADRID) + timedelta(minutes=minutes)
    state = rk.MemberState(id="ana", first_seen=last, last_activity=last.astimezone(UTC))
    when = datetime.combine(last.date() + timedelta(days=days), last.timetz())
    if when - last < timedelta(minutes=1):
        return
    (nudge,) = nudges(program, state, when)
    assert nudge.fields["days"] == days


def test_the_english_defaults_name_the_programmes_currency() -> None:
    program = rk.Program(
        name="SkyWays",
        timezone="Europe/Madrid",
        currencies=("miles",),
        rules=[rk.per_amount("fly", on="flight", per="1.00", points=5, currency="miles")],
        rewards=[rk.reward("upgrade", cost=6000, currency="miles", name="an upgrade")],
    )
    assert program.currency == "miles"
    kit = rk.Rewards(program)
    when = at("2026-03-07 09:30")
    kit.record(rk.Action(id="f1", member="ana", kind="flight", at=when, amount="1000.00"))
    (nudge,) = kit.nudges("ana", at=when + TICK)
    assert nudge.message == "You have 5000 miles: only 1000 more to an upgrade."


# ---------------------------------------------------------------- plural forms


REWARD_FIELDS = {
    "reward": "coffee",
    "reward_name": "un café",
    "cost": 100,
    "balance": 75,
    "currency": "points",
}


def spanish(name: str, **fields: Any) -> str:
    nudge = rk.Nudge("x", "k", "", datetime(2026, 1, 1, tzinfo=UTC), fields, name)
    return nudge.render(TEMPLATES_ES)


def test_the_seed_message_with_one_point_speaks_in_the_singular() -> None:
    one = spanish("reward_within_reach", earned=1, needed=1, **REWARD_FIELDS)
    assert one == (
        "te felicitamos por ganar 1 punto, ahora sólo es 1 punto lejos de alcanzar tu "
        "próxima recompensa"
    )
    many = spanish("reward_within_reach", earned=75, needed=25, **REWARD_FIELDS)
    assert many == (
        "te felicitamos por ganar 75 puntos, ahora sólo son 25 puntos lejos de alcanzar tu "
        "próxima recompensa"
    )  # the seed article's words


def test_days_and_points_agree_with_their_number_in_both_languages() -> None:
    fields = {"points": 1, "date": date(2026, 5, 1), "days_left": 1, "currency": "points"}
    fields["expires_at"] = datetime(2026, 5, 1, tzinfo=UTC)
    nudge = rk.Nudge("x", "k", "", fields["expires_at"], fields, "points_expiring")
    assert nudge.render({}) == "1 of your points expires on 2026-05-01: 1 day left to use it."
    assert nudge.render(TEMPLATES_ES) == "1 punto caduca el 01/05/2026: te queda 1 día para usarlo"
    twelve = rk.Nudge(
        "x",
        "k",
        "",
        fields["expires_at"],
        {**fields, "days_left": 12, "points": 0},
        "points_expiring",
    )
    assert twelve.render(TEMPLATES_ES) == (
        "0 de tus puntos caducan el 01/05/2026: te quedan 12 días para usarlos"
    )
    assert twelve.render({}) == "0 of your points expire on 2026-05-01: 12 days left to use them."


@given(
    number=st.one_of(st.integers(-(10**6), 10**6), st.decimals("-1000", "1000", places=2)),
    spec=st.sampled_from(["", ",", "05d"]),
)
def test_a_plural_picks_the_first_form_for_exactly_one_and_writes_the_number_at_hash(
    number: int | Decimal, spec: str
) -> None:
    if isinstance(number, Decimal) and spec == "05d":
        spec = ""
    template = f"{{needed:{spec}|# item left|# items left}}"
    settings = rk.NudgeSettings(templates={"badge_within_reach": template})
    fields = {"needed": number, "badge": "b", "badge_name": "B", "current": 1, "target": 2}
    at = datetime(2026, 1, 1, tzinfo=UTC)
    nudge = rk.Nudge("x", "k", "", at, fields, "badge_within_reach")
    shown = format(number, spec)
    expected = f"{shown} item left" if number == 1 else f"{shown} items left"
    assert nudge.render(settings.templates) == expected


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("hace {days:|# día}", "{days:|# día} is not a plural: write {days:|one|other}"),
        ("{days:|a|b|c}", "{days:|a|b|c} is not a plural"),
        ("{last_activity:|# día|# días}", "plural forms need a number field"),
    ],
)
def test_a_malformed_plural_is_refused_naming_the_field(template: str, message: str) -> None:
    with pytest.raises(rk.ProgramError) as refused:
        rk.NudgeSettings(templates={"inactive": template})
    (problem,) = refused.value.problems
    assert problem.path == "nudges.templates.inactive" and message in str(problem)
