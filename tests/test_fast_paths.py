"""The hot path's shortcuts give exactly what the straightforward code gives: the
hand-made codecs, the calendar caches, the batch commits, the SQLite options and the
state cache, the entry hashes."""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import attrs
import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given, settings
from hypothesis import strategies as st

import rewardkit as rk
from rewardkit import _codec, _fastcodec
from rewardkit.engine import evaluate
from rewardkit.expiry import after_wall_clock, before_wall_clock
from rewardkit.model import Contribution, Entry, EntryKind, Lot, MemberState, Outcome
from rewardkit.storage import Commit, MemoryStore, StaleVersion, open_store
from rewardkit.storage.chain import _dumped, content
from rewardkit.storage.sqlite import SQLiteStore
from rewardkit.time import resolve_local

START = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def rich_program() -> rk.Program:
    """A programme that fills every part of a member's state."""
    return rk.Program(
        name="Everything",
        timezone="Europe/Madrid",
        rules=[
            rk.per_amount("base", on="purchase", per="1.00", points=1),
            rk.per_amount(
                "held", on="order", per="1.00", points=2, pending=rk.pending_for({"days": 3})
            ),
            rk.fixed("visit", on="visit", points=5, caps=rk.cap(per="day", awards=1)),
            rk.first_time("welcome", on="purchase", points=20),
            rk.multiplier("weekend", factor=2, when=rk.weekday("sat", "sun")),
            rk.tickets("visit-ticket", raffle="summer", on="visit"),
        ],
        rewards=[rk.reward("coffee", cost=30)],
        expiry=rk.fixed_term({"days": 20}),
        tiers=rk.ladder(
            metric="points_earned",
            window={"days": 30},
            levels=[rk.level("silver", 60, multiplier="1.5"), rk.level("gold", 200)],
            keep=rk.keep_for({"days": 10}),
            grace={"days": 5},
        ),
        badges=[
            rk.badge("regular", rk.count(3, rk.kind("visit")), bonus=7),
            rk.badge("streaky", rk.streak(2, per="day"), repeatable=True),
        ],
        raffles=[
            rk.raffle(
                "summer",
                opens_at=START,
                closes_at=START + timedelta(days=90),
                max_tickets=5,
            )
        ],
    )


def drive(kit: rk.Rewards, seed: int, calls: int = 150) -> None:
    """Random earns, orders held, redemptions, refunds, confirmations and sweeps."""
    rng = random.Random(seed)
    at = START
    recorded: list[str] = []
    for n in range(calls):
        at += timedelta(hours=rng.choice([1, 5, 20, 49]))
        member = rng.choice(["ana", "bob", "zoé"])
        roll = rng.random()
        try:
            if roll < 0.45:
                kind = rng.choice(["purchase", "order", "visit"])
                amount = None if kind == "visit" else Decimal(rng.randint(100, 9000)) / 100
                action = rk.Action(id=f"a{n}", member=member, kind=kind, at=at, amount=amount)
                kit.record(action)
                recorded.append(action.id)
            elif roll < 0.6:
                kit.redeem(member, "coffee", id=f"r{n}", at=at)
            elif roll < 0.75 and recorded:
                refund = rng.choice([None, "5.00"])
                kit.reverse(rng.choice(recorded), id=f"x{n}", at=at, amount=refund)
            elif roll < 0.85 and recorded:
                kit.confirm(rng.choice(recorded), at=at)
            else:
                kit.expire(at=at)
        except rk.RewardkitError:
            pass


@pytest.mark.parametrize("seed", range(6))
def test_the_hand_made_codecs_write_and_read_what_the_converter_does(seed: int) -> None:
    store = MemoryStore()
    kit = rk.Rewards(rich_program(), store=store)
    drive(kit, seed)
    seen: set[str] = set()
    for member in store.members():
        state = store.load(member).state
        text = _codec.dumps(state)
        assert _fastcodec.dumps_state(state) == text
        assert _fastcodec.dumps_state(state) == text  # again, from the texts kept on lots
        loaded = _fastcodec.loads_state(text)
        assert loaded == _codec.loads(text, MemberState) == state
        assert _fastcodec.dumps_state(loaded) == text
        seen.update(name for name, value in attrs.asdict(state, recurse=False).items() if value)
    for (operation, request_id), _ in store._receipts.items():
        receipt = store.receipt(operation, request_id)
        assert receipt is not None
        assert _fastcodec.dumps_outcome(receipt.outcome) == _codec.dumps(receipt.outcome)
        assert _codec.loads(_fastcodec.dumps_outcome(receipt.outcome), Outcome) == receipt.outcome
    assert {"lots", "metric", "badges", "tickets", "usage", "reversals"} <= seen or seed


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(
        min_value=datetime(1900, 1, 1),
        max_value=datetime(2200, 1, 1),
        timezones=st.sampled_from([UTC, ZoneInfo("Europe/Madrid"), ZoneInfo("America/Lima")]),
    ),
    st.decimals(
        allow_nan=False, allow_infinity=False, places=4, min_value=-(10**9), max_value=10**9
    ),
)
def test_a_tier_metric_contribution_is_stored_short_and_read_back_exactly(
    at: datetime, value: Decimal
) -> None:
    contribution = Contribution(at, value)
    data = _codec.contribution_data(contribution)
    assert data == [
        _codec.contribution_data(Contribution(at.astimezone(UTC), value))[0],
        str(value),
    ]
    back = _codec.contribution_from(json.loads(json.dumps(data)))
    # (an ambiguous local time never compares equal across zones: compare in UTC)
    assert back == Contribution(at.astimezone(UTC), value) and back.at.tzinfo is UTC
    assert str(back.value) == str(value)  # the same digits, not only an equal number


def test_a_state_stored_with_the_older_metric_form_is_read_and_then_written_short() -> None:
    kit = rk.Rewards(rich_program(), store=MemoryStore())
    drive(kit, 1)
    state = next(
        kit.store.load(member).state
        for member in kit.store.members()
        if kit.store.load(member).state.metric
    )
    short = _codec.dumps(state)
    data = json.loads(short)
    assert all(type(c) is list and type(c[0]) is int for c in data["metric"])
    data["metric"] = [
        {"at": c.at.isoformat(), "value": str(c.value)} for c in state.metric
    ]  # as rewardkit stored it before
    older = json.dumps(data)
    for read in (_fastcodec.loads_state(older), _codec.loads(older, MemberState)):
        assert read == state
        assert _fastcodec.dumps_state(read) == short
    with pytest.raises(ValueError, match="not a tier-metric contribution"):
        _codec.contribution_from(["2026-03-02", "1"])


def test_the_kept_isoformat_text_is_only_ever_its_own_instants() -> None:
    # Equal instants in other zones are equal datetimes with other texts: the text kept
    # from the last call is for that very object, never for an equal one.
    utc = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    madrid = utc.astimezone(ZoneInfo("Europe/Madrid"))
    assert utc == madrid
    for _ in range(2):
        assert _fastcodec.isoformat(utc) == "2026-03-29T01:30:00+00:00"
        assert _fastcodec.isoformat(utc) == "2026-03-29T01:30:00+00:00"
        assert _fastcodec.isoformat(madrid) == "2026-03-29T03:30:00+02:00"
    assert _fastcodec.isoformat(madrid.replace(microsecond=5)) == (
        "2026-03-29T03:30:00.000005+02:00"
    )


def test_a_state_whose_lots_are_out_of_order_is_put_in_order_by_the_next_call() -> None:
    at = START
    lots = tuple(
        Lot(f"old#{n}", "points", 10, 10, at, at + timedelta(days=d), f"old{n}", "base")
        for n, d in enumerate([9, 3, 6])
    )
    state = MemberState(id="ana", lots=lots, entries=0)
    program = rk.Program(name="p", rules=[rk.fixed("visit", on="visit", points=1)])
    action = rk.Action(id="v1", member="ana", kind="visit", at=at + timedelta(days=1))
    after = evaluate(program, state, action).state
    expiries = [lot.expires_at for lot in after.lots]
    assert expiries[-1] is None  # the visit's points never expire: spent last
    assert expiries[:-1] == sorted(e for e in expiries if e is not None)
    # And stored unsorted, it is read back as such, then sorted by the next call.
    text = _codec.dumps(state)
    assert not _fastcodec.loads_state(text)._canonical
    again = evaluate(program, _fastcodec.loads_state(text), action).state
    assert again == after


ZONES = ["Europe/Madrid", "America/New_York", "Australia/Lord_Howe", "Pacific/Chatham"]
SPANS = [
    relativedelta(months=12),
    relativedelta(days=30),
    relativedelta(months=1, days=2),
    relativedelta(hours=5),
    relativedelta(days=1, hours=2, minutes=30),
    relativedelta(weeks=2),
]


@settings(max_examples=400, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    day=st.integers(0, 3 * 365),
    seconds=st.integers(0, 86_399),
    span=st.sampled_from(SPANS),
)
def test_calendar_moves_kept_per_day_equal_the_calendar_arithmetic(
    zone: str, day: int, seconds: int, span: relativedelta
) -> None:
    tz = ZoneInfo(zone)
    instant = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=day, seconds=seconds)
    local = instant.astimezone(tz).replace(tzinfo=None)
    calendar = relativedelta(years=span.years, months=span.months, days=span.days)
    elapsed = timedelta(hours=span.hours, minutes=span.minutes, seconds=span.seconds)
    moved = resolve_local(local + calendar, tz).astimezone(UTC) if calendar else instant
    forward = moved + elapsed
    backward = resolve_local(local - span, tz).astimezone(UTC)
    for _ in range(2):  # the second time from what the first kept
        assert after_wall_clock(instant, span, tz) == forward
        assert before_wall_clock(instant, span, tz) == backward


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(min_size=1, max_size=12),
    number=st.integers(-(10**12), 10**12),
    offset=st.integers(-12 * 60, 12 * 60),
)
def test_an_entry_hashes_the_json_the_json_module_writes(
    text: str, number: int, offset: int
) -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC).astimezone(
        __import__("datetime").timezone(timedelta(minutes=offset))
    )
    entry = Entry(text, 3, at, EntryKind.EARN, text, number, abs(number), 0, text, text, 1)
    assert content(entry) == _dumped(entry)
    assert json.loads(content(entry))["points"] == number


# ---------------------------------------------------------------- batches


def actions(count: int, members: int = 5) -> list[rk.Action]:
    rng = random.Random(count)
    return [
        rk.Action(
            id=f"a{n}",
            member=f"m{rng.randrange(members)}",
            kind=rng.choice(["purchase", "visit", "order"]),
            at=START + timedelta(hours=7 * n),
            amount=Decimal(rng.randint(0, 5000)) / 100,
        )
        for n in range(count)
    ]


def stores(tmp_path: Path) -> list[rk.storage.Store]:
    return [MemoryStore(), SQLiteStore(tmp_path / "a.db"), SQLiteStore(tmp_path / "b.db")]


def test_record_many_ends_exactly_where_recording_one_by_one_ends(tmp_path: Path) -> None:
    stream = actions(120)
    for one, many in ((MemoryStore(), MemoryStore()), tuple(stores(tmp_path)[1:])):
        singles = rk.Rewards(rich_program(), store=one)
        batched = rk.Rewards(rich_program(), store=many)
        expected = [singles.record(action) for action in stream]
        got = []
        for start in range(0, len(stream), 25):
            got.extend(batched.record_many(stream[start : start + 25]))
        assert got == expected
        for member in one.members():
            assert one.load(member) == many.load(member)
            assert one.chain(member) == many.chain(member)
        singles.close()
        batched.close()


def referral_program() -> rk.Program:
    return rk.Program(
        name="Referrals",
        timezone="Europe/Madrid",
        rules=[
            rk.per_amount("base", on="purchase", per="1.00", points=1),
            rk.referral("friend", on="purchase", referrer_points=200, referred_points=100),
        ],
    )


def test_a_batch_pays_referrers_in_order_as_one_by_one_does(tmp_path: Path) -> None:
    # m0 brought m1 and m2; m0's own purchases come after its friends' first ones, in
    # the same batch: its ledger must hold the bonuses before them, as one by one.
    stream = [
        rk.Action(
            id=f"p{n}",
            member=member,
            kind="purchase",
            at=START + timedelta(hours=n),
            amount=Decimal(amount),
        )
        for n, (member, amount) in enumerate(
            [("m0", "10"), ("m1", "30"), ("m0", "5"), ("m2", "12"), ("m0", "7"), ("m1", "3")]
        )
    ]
    for make in (MemoryStore, lambda: SQLiteStore(tmp_path / f"r{id(stream)}.db")):
        one, many = (
            make(),
            MemoryStore() if make is MemoryStore else SQLiteStore(tmp_path / "batched.db"),
        )
        kits = [rk.Rewards(referral_program(), store=store) for store in (one, many)]
        for kit in kits:
            for friend in ("m1", "m2"):
                kit.refer("m0", friend, id=f"ref-{friend}", at=START - timedelta(days=1))
        expected = [kits[0].record(action) for action in stream]
        assert kits[1].record_many(stream) == expected
        assert kits[1].balance("m0") == kits[0].balance("m0") == 10 + 200 + 5 + 200 + 7
        assert [e.points for e in kits[1].history("m0")] == [10, 200, 5, 200, 7]
        for member in ("m0", "m1", "m2"):
            assert one.load(member) == many.load(member)
            assert one.chain(member) == many.chain(member)
        for kit in kits:
            kit.close()


def test_a_refused_action_in_a_batch_is_returned_and_the_others_are_recorded() -> None:
    kit = rk.Rewards(rich_program())
    first = actions(3)
    clash = attrs.evolve(first[0], amount=Decimal("999"))
    results = kit.record_many([first[0], first[1], clash, first[1], first[2]])
    assert isinstance(results[2], rk.IdempotencyConflict)
    assert isinstance(results[0], rk.Outcome) and not results[0].replayed
    assert isinstance(results[3], rk.Outcome) and results[3].replayed
    assert isinstance(results[1], rk.Outcome)
    assert results[3] == attrs.evolve(results[1], replayed=True)
    again = kit.record_many(first)  # all known now: replayed, nothing changes
    assert all(isinstance(r, rk.Outcome) and r.replayed for r in again)
    assert kit.store.load(first[0].member).version == kit.store.load(first[0].member).version


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_batch_commit_lands_whole_or_not_at_all(kind: str, tmp_path: Path) -> None:
    store = MemoryStore() if kind == "memory" else SQLiteStore(tmp_path / "x.db")
    program = rich_program()
    stream = actions(4, members=2)
    units = []
    versions: dict[str, int] = {}
    states: dict[str, MemberState] = {}
    for action in stream:
        state = states.get(action.member, MemberState(action.member))
        result = evaluate(program, state, action)
        version = versions.get(action.member, 0)
        units.append(Commit(action.member, version, result.state, result.outcome.entries, None))
        versions[action.member], states[action.member] = version + 1, result.state
    bad = attrs.evolve(units[-1], expected_version=units[-1].expected_version + 7)
    with pytest.raises(StaleVersion):
        store.commit_many([*units[:-1], bad])
    assert list(store.members()) == []
    store.commit_many(units)
    for member, version in versions.items():
        assert store.load(member).version == version
        assert store.load(member).state == states[member]
    store.close()


def test_a_batch_that_loses_a_race_is_recorded_one_by_one(tmp_path: Path) -> None:
    path = tmp_path / "race.db"
    kit = rk.Rewards(rich_program(), store=SQLiteStore(path))
    other = rk.Rewards(rich_program(), store=SQLiteStore(path))
    stream = actions(10, members=2)
    original = kit.store.commit_many  # type: ignore[attr-defined]

    def meddle(units: list[Commit]) -> None:
        other.record(stream[0])  # another process records the first action meanwhile
        original(units)

    kit.store.commit_many = meddle  # type: ignore[attr-defined]
    results = kit.record_many(stream)
    assert all(isinstance(r, rk.Outcome) for r in results)
    assert results[0].replayed  # type: ignore[union-attr]
    assert kit.history(stream[0].member) == other.history(stream[0].member)
    kit.close()
    other.close()


# ---------------------------------------------------------------- SQLite


def test_sqlite_durability_is_full_by_default_and_normal_on_request(tmp_path: Path) -> None:
    def setting(store: SQLiteStore) -> int:
        return int(store._connection().execute("PRAGMA synchronous").fetchone()[0])

    full = SQLiteStore(tmp_path / "full.db")
    normal = SQLiteStore(tmp_path / "normal.db", synchronous="normal")
    by_url = open_store(f"sqlite:///{tmp_path / 'url.db'}?synchronous=normal")
    assert isinstance(by_url, SQLiteStore)
    assert (full.synchronous, setting(full)) == ("FULL", 2)
    assert (normal.synchronous, setting(normal)) == ("NORMAL", 1)
    assert (by_url.synchronous, setting(by_url)) == ("NORMAL", 1)
    assert by_url.url.endswith("?synchronous=normal") and "?" not in full.url
    assert isinstance(open_store(by_url.url), SQLiteStore)
    kit = rk.Rewards(rich_program(), store=normal)
    kit.record(rk.Action(id="v1", member="ana", kind="visit", at=START))
    assert kit.balance("ana", at=START + timedelta(days=1)) == 10  # 5, doubled on Sundays
    for store in (full, normal, by_url):
        store.close()
    with pytest.raises(rk.StoreError, match="synchronous"):
        SQLiteStore(tmp_path / "bad.db", synchronous="OFF")
    with pytest.raises(rk.StoreError, match="synchronous"):
        open_store(f"sqlite:///{tmp_path / 'bad.db'}?synchronous=off")


def test_a_kept_state_is_not_used_once_another_process_changed_the_member(
    tmp_path: Path,
) -> None:
    path = tmp_path / "shared.db"
    mine, theirs = SQLiteStore(path), SQLiteStore(path)
    kit, other = rk.Rewards(rich_program(), store=mine), rk.Rewards(rich_program(), store=theirs)
    first, second = actions(2, members=1)
    kit.record(first)
    assert mine.load(first.member) is mine.load(first.member)  # kept, not decoded again
    other.record(second)  # behind my back
    assert mine.load(first.member) == theirs.load(first.member)
    assert mine.load(first.member).version == 2
    connection = sqlite3.connect(path)
    text = connection.execute("SELECT state FROM members").fetchone()[0]
    assert connection.execute("SELECT split FROM members").fetchone() == (0,)  # few lots
    assert _fastcodec.loads_state(text) == mine.load(first.member).state
    connection.close()
    no_cache = SQLiteStore(path, cache_size=0)
    assert no_cache.load(first.member) == mine.load(first.member)
    assert no_cache.load(first.member) is not no_cache.load(first.member)
    for store in (mine, theirs, no_cache):
        store.close()


def test_after_a_lost_race_a_repeated_id_in_the_batch_replays_what_was_committed() -> None:
    at = START + timedelta(days=1)
    program = referral_program()

    class RacyStore(MemoryStore):
        """Another server records for ana between the batch's reads and its commit."""

        raced = False

        def commit_many(self, units: Sequence[Commit]) -> None:
            if not self.raced and any(unit.member == "ana" for unit in units):
                self.raced = True
                other = rk.Rewards(program, store=self)
                other.record(
                    rk.Action(id="other", member="ana", kind="purchase", at=at, amount="1000")
                )
            super().commit_many(units)

    store = RacyStore()
    kit = rk.Rewards(program, store=store)
    kit.refer("carl", "bob", id="ref", at=at - timedelta(hours=1))
    a1 = rk.Action(
        id="a1", member="ana", kind="purchase", at=at + timedelta(minutes=1), amount="10"
    )
    b1 = rk.Action(
        id="b1", member="bob", kind="purchase", at=at + timedelta(minutes=2), amount="50"
    )
    first, _, again = kit.record_many([a1, b1, a1])  # b1 pays carl: a stretch ends there
    assert isinstance(first, rk.Outcome) and isinstance(again, rk.Outcome)
    stored = store.receipt("record", "a1")
    assert stored is not None and first.balance == stored.outcome.balance == 1010
    assert again.replayed and again.balance == 1010  # the committed outcome, not the lost one
