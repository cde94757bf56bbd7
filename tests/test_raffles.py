"""Raffles: winners a pure function of the seed and the ordered entries (pinned, and
recomputed by an independent implementation of the documented algorithm), distinct,
proportional to tickets (a deterministic statistical test), drawn once and only after
close, refused against a wrong seed, verifiable; tickets from rules and bought with
points, inside the window and under the per-member maximum."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rewardkit as rk
from rewardkit.raffles import draw_winners, entries_digest

from ._timekit import TICK, local

SEED = hashlib.sha256(b"summer-2026").digest()
OPENS = local("2026-06-01 00:00")
CLOSES = local("2026-07-01 00:00")
DURING = local("2026-06-10 12:00")
ENTRIES = [("ana", 3), ("bob", 1), ("carla", 5), ("dan", 2), ("eve", 4)]


def no_clock() -> datetime:
    raise AssertionError("every call in these tests names its instant")


def raffle_program(**summer: object) -> rk.Program:
    options: dict[str, object] = {
        "opens_at": OPENS,
        "closes_at": CLOSES,
        "prizes": 2,
        "ticket_cost": 50,
        "max_tickets": 5,
        "seed_commitment": rk.commitment(SEED),
    }
    options.update(summer)
    return rk.Program(
        name="Raffles",
        timezone="Europe/Madrid",
        rules=(
            rk.per_amount("base", on="purchase", per="1.00", points=1),
            rk.tickets("visit-ticket", raffle="summer", on="visit"),
            rk.tickets("spend-ticket", raffle="summer", on="purchase", per="10.00"),
        ),
        raffles=(
            rk.raffle("summer", **options),  # type: ignore[arg-type]
            rk.raffle("free", opens_at=OPENS, closes_at=CLOSES),
        ),
    )


@pytest.fixture(params=["memory", "sqlite"])
def kit(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[rk.Rewards]:
    store = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'r.db'}"
    with rk.Rewards(raffle_program(), store=store, clock=no_clock) as kit:
        yield kit


def act(
    kit: rk.Rewards, id: str, when: datetime, kind: str = "visit", amount: str | None = None,
    member: str = "ana",
) -> rk.Outcome:  # fmt: skip
    return kit.record(rk.Action(id=id, member=member, kind=kind, at=when, amount=amount))


def tickets_of(outcome: rk.Outcome) -> list[tuple[str, str, int]]:
    return [
        (e.raffle, e.rule, e.tickets) for e in outcome.events if isinstance(e, rk.TicketsEarned)
    ]


def held(kit: rk.Rewards, member: str = "ana") -> int:
    return kit.member(member, at=CLOSES).tickets.get("summer", 0)


def reference_winners(
    raffle: str, seed: bytes, entries: Sequence[tuple[str, int]], prizes: int
) -> tuple[str, ...]:
    """The documented algorithm, written again from its description: for each prize, an
    HMAC-SHA256 keyed by the seed over "raffle|prize|counter" picks a ticket (values at
    or above the largest multiple of the pool below 2**256 are drawn again); the
    winner's tickets then leave the pool."""
    pool = [(member, count) for member, count in entries if count > 0]
    winners = []
    for prize in range(min(prizes, len(pool))):
        total = sum(count for _, count in pool)
        counter = 0
        while True:
            message = f"{raffle}|{prize}|{counter}".encode()
            value = int.from_bytes(hmac.new(seed, message, hashlib.sha256).digest(), "big")
            if value < 2**256 - 2**256 % total:
                break
            counter += 1
        ticket = value % total
        for index, (member, count) in enumerate(pool):
            if ticket < count:
                winners.append(member)
                del pool[index]
                break
            ticket -= count
    return tuple(winners)


# ---------------------------------------------------------------- the draw, pure


def test_winners_for_a_fixed_seed_and_entry_list_are_pinned() -> None:
    assert draw_winners("summer", SEED, ENTRIES, 3) == ("eve", "dan", "bob")
    assert draw_winners("summer", SEED, ENTRIES, 3) == reference_winners("summer", SEED, ENTRIES, 3)
    # The same seed in another raffle draws other keys.
    assert draw_winners("winter", SEED, ENTRIES, 3) == reference_winners("winter", SEED, ENTRIES, 3)


entry_lists = st.lists(
    st.tuples(st.text("abcdefgh", min_size=1, max_size=3), st.integers(0, 50)),
    max_size=12,
    unique_by=lambda entry: entry[0],
)


@settings(max_examples=150, deadline=None)
@given(entries=entry_lists, seed=st.binary(min_size=16, max_size=32), prizes=st.integers(1, 15))
def test_winners_are_distinct_members_holding_tickets(
    entries: list[tuple[str, int]], seed: bytes, prizes: int
) -> None:
    winners = draw_winners("r", seed, entries, prizes)
    holders = {member for member, count in entries if count > 0}
    assert len(set(winners)) == len(winners) == min(prizes, len(holders))
    assert set(winners) <= holders
    assert winners == reference_winners("r", seed, entries, prizes)


def test_a_member_with_90_percent_of_the_tickets_wins_80_to_95_percent_of_draws() -> None:
    entries = [("whale", 90), ("a", 4), ("b", 3), ("c", 2), ("d", 1)]
    seeds = [hashlib.sha256(b"seed" + str(i).encode()).digest() for i in range(500)]
    wins = sum(draw_winners("r", seed, entries, 1) == ("whale",) for seed in seeds)
    assert 400 <= wins <= 475, wins


def test_equal_holders_win_about_equally_often() -> None:
    entries = [("ana", 7), ("bob", 7)]
    seeds = [hashlib.sha256(b"fair" + str(i).encode()).digest() for i in range(500)]
    wins = sum(draw_winners("r", seed, entries, 1) == ("ana",) for seed in seeds)
    assert 210 <= wins <= 290, wins


# ---------------------------------------------------------------- drawing a raffle


def fill(kit: rk.Rewards) -> None:
    """Tickets for five members from visits during the raffle."""
    for member, count in ENTRIES:
        for n in range(count):
            act(kit, f"{member}-{n}", DURING, member=member)


def test_a_draw_before_the_raffle_closes_is_refused(kit: rk.Rewards) -> None:
    fill(kit)
    with pytest.raises(rk.RaffleError, match="still open"):
        kit.draw("summer", seed=SEED, at=CLOSES - TICK)
    draw = kit.draw("summer", seed=SEED, at=CLOSES)
    assert not draw.replayed


def test_a_draw_picks_the_pinned_winners_from_the_ordered_entries(kit: rk.Rewards) -> None:
    fill(kit)
    assert kit.raffle_entries("summer") == ENTRIES
    draw = kit.draw("summer", seed=SEED, at=CLOSES)
    assert draw.winners == draw_winners("summer", SEED, ENTRIES, 2) == ("eve", "dan")
    assert (draw.raffle, draw.prizes, draw.entries, draw.tickets) == ("summer", 2, 5, 15)
    assert draw.seed == SEED.hex() and draw.seed_commitment == rk.commitment(SEED)
    assert draw.entries_digest == entries_digest(ENTRIES)
    assert rk.verify_draw(draw, kit.raffle_entries("summer"))


def test_a_raffle_is_drawn_once_a_second_call_replays_it_even_with_another_seed(
    kit: rk.Rewards,
) -> None:
    fill(kit)
    first = kit.draw("summer", seed=SEED, at=CLOSES)
    again = kit.draw("summer", seed=b"another seed, 16+ bytes", at=local("2026-07-02 09:00"))
    assert again.replayed and attrs.evolve(again, replayed=False) == first


def test_a_seed_that_does_not_match_the_commitment_is_refused(kit: rk.Rewards) -> None:
    fill(kit)
    with pytest.raises(rk.RaffleError, match="seed commitment"):
        kit.draw("summer", seed=b"not the committed seed", at=CLOSES)
    assert not kit.draw("summer", seed=SEED, at=CLOSES).replayed  # nothing was recorded


def test_a_seed_shorter_than_16_bytes_is_refused(kit: rk.Rewards) -> None:
    with pytest.raises(rk.InvalidAction, match="seed"):
        kit.draw("free", seed=b"short", at=CLOSES)


def test_a_raffle_without_a_commitment_accepts_any_seed_and_no_entries_no_winners(
    kit: rk.Rewards,
) -> None:
    draw = kit.draw("free", seed=b"sixteen bytes ok", at=CLOSES)
    assert (draw.winners, draw.entries, draw.tickets) == ((), 0, 0)
    assert draw.seed_commitment == rk.commitment(b"sixteen bytes ok")


def test_an_unknown_raffle_is_named_in_the_error(kit: rk.Rewards) -> None:
    with pytest.raises(rk.UnknownRaffle, match=r"'autumn'.*known raffles: free, summer"):
        kit.draw("autumn", seed=SEED, at=CLOSES)
    with pytest.raises(LookupError):
        kit.enter("autumn", "ana", id="e1", at=DURING)


def drawn() -> rk.Draw:
    kit = rk.Rewards(raffle_program(prizes=3), clock=no_clock)
    fill(kit)
    return kit.draw("summer", seed=SEED, at=CLOSES)


def test_verify_draw_accepts_the_draw_with_its_entries() -> None:
    assert rk.verify_draw(drawn(), ENTRIES)


@pytest.mark.parametrize(
    "entries",
    [
        [("ana", 3), ("bob", 1), ("carla", 5), ("dan", 2), ("eva", 4)],  # a member renamed
        [("ana", 3), ("bob", 1), ("carla", 5), ("dan", 2), ("eve", 5)],  # one ticket more
        [("bob", 1), ("ana", 3), ("carla", 5), ("dan", 2), ("eve", 4)],  # order swapped
        ENTRIES[:-1],  # an entry left out
    ],
    ids=["member", "tickets", "order", "missing"],
)
def test_verify_draw_fails_when_one_entry_is_altered(entries: list[tuple[str, int]]) -> None:
    assert not rk.verify_draw(drawn(), entries)


@pytest.mark.parametrize(
    "change",
    [
        {"seed": hashlib.sha256(b"other").hexdigest()},
        {"seed": "not hex"},
        {"seed_commitment": rk.commitment(b"other")},
        {"winners": ("eve", "dan", "carla")},
        {"winners": ("dan", "eve", "bob")},  # the prize order matters
        {"prizes": 2},
        {"raffle": "winter"},
    ],
    ids=["seed", "seed-not-hex", "commitment", "winner", "prize-order", "prizes", "raffle"],
)
def test_verify_draw_fails_when_the_draw_is_altered(change: dict[str, object]) -> None:
    draw = drawn()
    assert draw.winners == ("eve", "dan", "bob")
    assert not rk.verify_draw(attrs.evolve(draw, **change), ENTRIES)  # type: ignore[arg-type]


# ---------------------------------------------------------------- tickets from rules


def test_tickets_are_earned_per_action_and_per_amount() -> None:
    kit = rk.Rewards(raffle_program(max_tickets=None), clock=no_clock)
    assert tickets_of(act(kit, "v", DURING)) == [("summer", "visit-ticket", 1)]
    assert tickets_of(act(kit, "p", DURING, "purchase", "29.99")) == [("summer", "spend-ticket", 2)]
    assert tickets_of(act(kit, "small", DURING, "purchase", "9.99")) == []
    assert held(kit) == 3
    assert kit.store.counter("raffle-tickets:summer") == 3


@pytest.mark.parametrize(
    ("when", "earned"),
    [(OPENS - TICK, 0), (OPENS, 1), (CLOSES - TICK, 1), (CLOSES, 0)],
    ids=["before-open", "at-open", "just-before-close", "at-close"],
)
def test_tickets_are_earned_only_while_the_raffle_is_open(when: datetime, earned: int) -> None:
    kit = rk.Rewards(raffle_program(), clock=no_clock)
    act(kit, "v", when)
    assert held(kit) == earned


def test_earned_tickets_are_truncated_to_the_maximum() -> None:
    kit = rk.Rewards(raffle_program(), clock=no_clock)  # at most 5 per member
    out = act(kit, "p", DURING, "purchase", "230")  # 23 tickets by the rule
    assert tickets_of(out) == [("summer", "spend-ticket", 5)] and held(kit) == 5
    assert tickets_of(act(kit, "v", DURING)) == []  # full: no tickets, no event
    with pytest.raises(rk.RaffleError, match="at most 5 tickets"):
        kit.enter("summer", "ana", id="e1", tickets=1, at=DURING)


def test_the_maximum_counts_earned_and_bought_tickets_together() -> None:
    kit = rk.Rewards(raffle_program(), clock=no_clock)
    act(kit, "savings", local("2026-05-01 10:00"), "purchase", "200")  # before: no tickets
    act(kit, "p", DURING, "purchase", "29")  # 2 tickets
    kit.enter("summer", "ana", id="e1", tickets=2, at=DURING)
    assert held(kit) == 4
    with pytest.raises(rk.RaffleError, match="at most 5 tickets per member; 'ana' holds 4"):
        kit.enter("summer", "ana", id="e2", tickets=2, at=DURING)
    assert tickets_of(act(kit, "v1", DURING)) == [("summer", "visit-ticket", 1)]
    assert tickets_of(act(kit, "v2", DURING)) == []
    assert held(kit) == 5


# ---------------------------------------------------------------- buying tickets


def rich(kit: rk.Rewards, member: str = "ana", points: int = 300) -> None:
    """``points`` points from a purchase before the raffle opens (so no tickets)."""
    act(kit, f"{member}-savings", local("2026-05-01 10:00"), "purchase", str(points), member)


def test_entering_charges_the_tickets_cost_in_points(kit: rk.Rewards) -> None:
    rich(kit)
    out = kit.enter("summer", "ana", id="e1", tickets=3, at=DURING)
    assert (out.points, out.balance) == (-150, 150)
    (event,) = [e for e in out.events if isinstance(e, rk.TicketsBought)]
    assert (event.raffle, event.tickets, event.cost) == ("summer", 3, 150)
    last = kit.history("ana", at=DURING)[-1]
    assert (last.kind, last.points, last.reason, last.cause) == (
        rk.EntryKind.REDEEM, -150, "raffle:summer", "e1"
    )  # fmt: skip
    assert held(kit) == 3 and kit.raffle_entries("summer") == [("ana", 3)]


def test_entering_is_idempotent_on_its_id(kit: rk.Rewards) -> None:
    rich(kit)
    first = kit.enter("summer", "ana", id="e1", tickets=2, at=DURING)
    again = kit.enter("summer", "ana", id="e1", tickets=2, at=DURING)
    assert again.replayed and again.points == first.points
    assert held(kit) == 2 and kit.balance("ana", at=DURING) == 200
    with pytest.raises(rk.IdempotencyConflict, match="'tickets'"):
        kit.enter("summer", "ana", id="e1", tickets=3, at=DURING)


@pytest.mark.parametrize(
    ("raffle", "tickets", "when", "error", "match"),
    [
        ("summer", 1, OPENS - TICK, rk.RaffleError, "not open yet"),
        ("summer", 1, CLOSES, rk.RaffleError, "closed"),
        ("summer", 6, DURING, rk.RaffleError, "at most 5 tickets"),
        ("free", 1, DURING, rk.RaffleError, "not sold"),
        ("summer", 0, DURING, rk.InvalidAction, "tickets"),
    ],
    ids=["before-open", "at-close", "over-maximum", "not-sold", "zero-tickets"],
)
def test_entering_is_refused_and_changes_nothing(
    kit: rk.Rewards,
    raffle: str,
    tickets: int,
    when: datetime,
    error: type[Exception],
    match: str,
) -> None:
    rich(kit)
    before = kit.history("ana", at=CLOSES)
    with pytest.raises(error, match=match):
        kit.enter(raffle, "ana", id="e1", tickets=tickets, at=when)
    assert kit.history("ana", at=CLOSES) == before and held(kit) == 0


def test_entering_without_enough_points_is_refused(kit: rk.Rewards) -> None:
    rich(kit, points=99)
    with pytest.raises(rk.InsufficientPoints) as caught:
        kit.enter("summer", "ana", id="e1", tickets=2, at=DURING)
    assert (caught.value.balance, caught.value.needed) == (99, 100)
    assert held(kit) == 0 and kit.balance("ana", at=DURING) == 99


def test_entering_a_drawn_raffle_is_refused_even_back_dated(kit: rk.Rewards) -> None:
    rich(kit)
    kit.draw("summer", seed=SEED, at=CLOSES)
    with pytest.raises(rk.RaffleError, match="has been drawn"):
        kit.enter("summer", "ana", id="late", tickets=1, at=DURING)
    assert kit.balance("ana", at=CLOSES) == 300


def test_a_drawn_raffle_keeps_the_entries_it_was_drawn_from(kit: rk.Rewards) -> None:
    fill(kit)
    draw = kit.draw("summer", seed=SEED, at=CLOSES)
    # A webhook arrives late: a visit made during the raffle, recorded after the draw.
    act(kit, "late-visit", DURING, member="zoe")
    assert kit.raffle_entries("summer") == ENTRIES
    assert rk.verify_draw(draw, kit.raffle_entries("summer"))


# ---------------------------------------------------------------- declaring raffles


def test_a_raffle_reports_every_problem_at_once() -> None:
    with pytest.raises(rk.ProgramError) as caught:
        rk.raffle(
            "",
            opens_at=datetime(2026, 6, 1),  # naive
            closes_at=CLOSES,
            prizes=0,
            ticket_cost=-1,
            max_tickets=0,
            seed_commitment="abc",
        )
    paths = [p.path for p in caught.value.problems]
    assert paths == ["id", "opens_at", "prizes", "ticket_cost", "max_tickets", "seed_commitment"]
    with pytest.raises(rk.ProgramError, match="closes_at: must be after opens_at"):
        rk.raffle("r", opens_at=CLOSES, closes_at=OPENS)


def test_a_ticket_rule_for_an_unknown_raffle_is_a_programme_problem() -> None:
    with pytest.raises(rk.ProgramError, match=r"rules\[0\].raffle: no raffle 'sumer'"):
        rk.Program(name="p", rules=[rk.tickets("t", raffle="sumer")])


def test_a_draw_is_kept_by_the_store_and_replayed_after_reopening(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    with rk.Rewards(raffle_program(), store=url, clock=no_clock) as kit:
        fill(kit)
        first = kit.draw("summer", seed=SEED, at=CLOSES)
    with rk.Rewards(raffle_program(), store=url, clock=no_clock) as kit:
        again = kit.draw("summer", seed=SEED, at=local("2026-08-01 00:00"))
        assert again.replayed and attrs.evolve(again, replayed=False) == first
        assert rk.verify_draw(again, kit.raffle_entries("summer"))


# ---------------------------------------------------------------- refunds


def taken_back(outcome: rk.Outcome) -> list[tuple[str, str, int]]:
    return [
        (e.raffle, e.action, e.tickets)
        for e in outcome.events
        if isinstance(e, rk.TicketsTakenBack)
    ]


def test_a_refund_takes_back_the_tickets_its_purchase_earned_in_proportion(
    kit: rk.Rewards,
) -> None:
    act(kit, "o1", DURING, kind="purchase", amount="40.00")  # 4 tickets
    act(kit, "v1", DURING + TICK)  # 1 ticket: 5, the maximum
    assert kit.member("ana", at=DURING + TICK).tickets["summer"] == 5
    quarter = kit.reverse("o1", id="r1", amount="10.00", at=DURING + 2 * TICK)
    assert taken_back(quarter) == [("summer", "o1", 1)]  # floor(4 x 10 / 40)
    third = kit.reverse("o1", id="r2", amount="15.00", at=DURING + 3 * TICK)
    assert taken_back(third) == [("summer", "o1", 1)]  # floor(4 x 25 / 40) = 2 in all
    assert kit.reverse("o1", id="r2", amount="15.00", at=DURING + 3 * TICK).replayed
    rest = kit.reverse("o1", id="r3", at=DURING + 4 * TICK)
    assert taken_back(rest) == [("summer", "o1", 2)]  # the whole order: all 4
    assert kit.member("ana", at=DURING + 4 * TICK).tickets["summer"] == 1  # the visit's
    # Room again under the maximum: a new purchase earns tickets.
    assert tickets_of(act(kit, "o2", DURING + 5 * TICK, kind="purchase", amount="20.00")) == [
        ("summer", "spend-ticket", 2)
    ]
    assert kit.raffle_entries("summer") == [("ana", 3)]


def test_a_refund_after_the_raffle_closed_leaves_its_tickets(kit: rk.Rewards) -> None:
    act(kit, "o1", DURING, kind="purchase", amount="30.00")
    out = kit.reverse("o1", id="r1", at=CLOSES)
    assert taken_back(out) == [] and out.points == -30
    assert kit.raffle_entries("summer") == [("ana", 3)]  # they were in the draw


def test_tickets_a_member_cannot_afford_are_refused_naming_the_raffle(kit: rk.Rewards) -> None:
    with pytest.raises(rk.InsufficientPoints) as refused:
        kit.enter("summer", "ana", id="t1", tickets=2, at=DURING)
    error = refused.value
    assert (error.reward, error.balance, error.needed, error.missing) == (
        "raffle:summer",
        0,
        100,
        100,
    )
    assert str(error) == (
        "member 'ana' has 0 points but the tickets of raffle 'summer' cost 100: 100 more needed"
    )


def test_views_and_draws_are_json_data_for_a_web_app(kit: rk.Rewards) -> None:
    import json

    act(kit, "o1", DURING, kind="purchase", amount="25.00")
    view = json.loads(json.dumps(rk.to_data(kit.member("ana", at=DURING + TICK))))
    assert view["tickets"] == {"summer": 2} and view["balance"] == 25
    assert datetime.fromisoformat(view["lots"][0]["earned_at"]) == DURING
    draw = kit.draw("summer", seed=SEED, at=CLOSES)
    data = json.loads(json.dumps(rk.to_data(draw)))
    assert data["winners"] == list(draw.winners) == ["ana"]
    assert data["seed"] == draw.seed and data["entries_digest"] == draw.entries_digest


@pytest.mark.parametrize("kind", ["memory", "sqlite", "postgres"])
def test_a_stores_quick_read_of_tickets_gives_the_entries_a_member_walk_gives(
    kind: str, tmp_path: Path
) -> None:
    from ._postgres import schemas

    odd = 'l\'été "2026" ü.x'  # quotes, a dot and a non-ASCII letter in a raffle id
    program = rk.Program(
        name="Odd ids",
        timezone="Europe/Madrid",
        rules=(
            rk.tickets("visit-ticket", raffle=odd, on="visit"),
            rk.tickets("spend-ticket", raffle="summer", on="purchase", per="10.00"),
        ),
        raffles=(
            rk.raffle(odd, opens_at=OPENS, closes_at=CLOSES),
            rk.raffle("summer", opens_at=OPENS, closes_at=CLOSES),
        ),
    )
    with contextlib.ExitStack() as stack:
        if kind == "postgres":
            url = stack.enter_context(schemas()).url_for()
        else:
            url = "memory://" if kind == "memory" else f"sqlite:///{tmp_path / 't.db'}"
        kit = stack.enter_context(rk.Rewards(program, store=url, clock=no_clock))
        members = ["zoé", "ana", "Bob", "carla", "dan"]
        for n, member in enumerate(members):
            for visit in range(n):
                act(kit, f"v-{member}-{visit}", DURING + visit * TICK, member=member)
            act(
                kit, f"p-{member}", DURING, kind="purchase", amount=str(10 * (4 - n)), member=member
            )

        def walked(raffle: str) -> list[tuple[str, int]]:
            return [
                (m, kit.store.load(m).state.tickets[raffle])
                for m in kit.store.members()
                if kit.store.load(m).state.tickets.get(raffle, 0) > 0
            ]

        # By member id in code point order ("Bob" before "ana"), as a walk gives them.
        assert kit.raffle_entries(odd) == walked(odd) == [
            ("Bob", 2), ("ana", 1), ("carla", 3), ("dan", 4)
        ]  # fmt: skip
        assert kit.raffle_entries("summer") == walked("summer") == [
            ("Bob", 2), ("ana", 3), ("carla", 1), ("zoé", 4)
        ]  # fmt: skip


def test_a_refund_after_the_draw_leaves_the_tickets_that_were_in_it(kit: rk.Rewards) -> None:
    act(kit, "o1", DURING, kind="purchase", amount="30.00")
    kit.draw("summer", seed=SEED, at=CLOSES)
    # Dated inside the raffle's window, but the draw has happened: its entries stand.
    out = kit.reverse("o1", id="r1", at=DURING + TICK)
    assert taken_back(out) == [] and out.points == -30
    assert kit.member("ana", at=CLOSES).tickets["summer"] == 3
