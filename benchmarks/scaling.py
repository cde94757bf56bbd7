"""Costs that must not grow: with a member's history, with the number of members, and
an expiry sweep that must cost what the members due cost."""

from __future__ import annotations

import os
import random
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import rewardkit as rk
from rewardkit import _fastcodec
from rewardkit.engine import evaluate
from rewardkit.model import blank_state
from rewardkit.storage._sql import entry_row, micros, receipt_row
from rewardkit.storage.base import Receipt
from rewardkit.storage.chain import link
from rewardkit.storage.sqlite import SQLiteStore

from .harness import Trial

__all__ = ["big_database", "history_trials", "members_trials", "sweep"]

_SYNC = "NORMAL"  # scaling compares sizes, not durability: the faster setting


def _purchase(member: str, number: int, at: datetime, rng: random.Random) -> rk.Action:
    return rk.Action(
        id=f"{member}-{number}",
        member=member,
        kind="purchase",
        at=at,
        amount=Decimal(rng.randint(150, 2500)).scaleb(-2),
        attributes={"category": "coffee", "channel": "store", "items": 1},
    )


def _build_history(kit: rk.Rewards, member: str, entries: int, start: datetime) -> datetime:
    """``member`` buys a coffee about every 18 hours and takes a free one whenever the
    balance allows, until the ledger holds ``entries`` entries; the last instant."""
    rng = random.Random(member)
    at = start
    number = 0
    while (done := kit.store.load(member).state.entries) < entries:
        batch = []
        for _ in range(min(200, max((entries - done) // 3, 1))):
            number += 1
            at += timedelta(hours=18)
            batch.append(_purchase(member, number, at, rng))
        kit.record_many(batch)
        while kit.balance(member, at=at) >= 100:
            number += 1
            kit.redeem(member, "free-coffee", id=f"{member}-redeem-{number}", at=at)
    return at


def _build_saver(kit: rk.Rewards, member: str, days: int, end: datetime) -> None:
    """``member`` buys a coffee every day for ``days`` days up to ``end`` and never
    redeems: all those lots stay open (their 12 months have not passed)."""
    rng = random.Random(member)
    actions = [
        _purchase(member, number, end - timedelta(days=days - number), rng)
        for number in range(days)
    ]
    for start in range(0, days, 200):
        kit.record_many(actions[start : start + 200])


def history_trials(
    program: rk.Program, entries: int, directory: str | None = None
) -> tuple[list[Trial], Callable[[], None], dict[str, int]]:
    """``record`` and ``balance`` for a member with ``entries`` prior ledger entries,
    for one with about 10, and for a saver (a coffee a day for 330 days, never redeemed:
    hundreds of open lots), on one SQLite file, side by side.

    Every ``record`` round starts from a copy of the file as built (untimed), and each
    member goes on as they lived: the long-standing member and the newcomer buy a coffee
    every 18 hours, the saver one a day.  So a round measures each member as they are,
    not as earlier rounds left them (100 purchases 30 s apart would put a newcomer's
    tier metric at hundreds of contributions by the last round)."""
    folder = tempfile.mkdtemp(prefix="rewardkit-bench-", dir=directory)
    built = os.path.join(folder, "built.db")
    kit = rk.Rewards(program, store=SQLiteStore(built, synchronous=_SYNC))
    start = datetime(2012, 1, 1, 9, 0, tzinfo=UTC)
    end = _build_history(kit, "regular", entries, start)
    _build_history(kit, "newcomer", 10, end - timedelta(days=6))
    _build_saver(kit, "saver", 330, end)
    members = ("regular", "newcomer", "saver")
    sizes = {m: kit.store.load(m).state.entries for m in members}
    lots = {m: len(kit.store.load(m).state.lots) for m in members}
    metric = {m: len(kit.store.load(m).state.metric) for m in members}
    kit.close()
    working = os.path.join(folder, "round.db")
    current = [_fresh_copy(program, built, working)]
    count = 100
    rng = random.Random(7)
    rounds = [0]
    every = {"regular": timedelta(hours=18), "newcomer": timedelta(hours=18)}

    def restore() -> None:
        current[0].close()
        current[0] = _fresh_copy(program, built, working)
        for member in members:  # loaded, as a server would hold a member in use
            current[0].store.load(member)

    def record(member: str) -> Callable[[], int]:
        step = every.get(member, timedelta(days=1))

        def run() -> int:
            rounds[0] += 1
            at = end + timedelta(hours=1)
            total = 0
            for n in range(count):
                at += step
                action = _purchase(member, 10**6 * rounds[0] + n, at, rng)
                total += current[0].record(action).points > 0
            return total

        return run

    at_end = end + timedelta(days=1)

    def balance(member: str) -> Callable[[], int]:
        return lambda: sum(current[0].balance(member, at=at_end) >= 0 for _ in range(count))

    trials = [
        Trial(f"record, {sizes['regular']:,} prior entries", record("regular"), count, restore),
        Trial(f"record, {sizes['newcomer']:,} prior entries", record("newcomer"), count, restore),
        Trial(f"record, a saver: {lots['saver']:,} open lots", record("saver"), count, restore),
        Trial(f"balance, {sizes['regular']:,} prior entries", balance("regular"), count, restore),
        Trial(f"balance, {sizes['newcomer']:,} prior entries", balance("newcomer"), count, restore),
        Trial(f"balance, a saver: {lots['saver']:,} open lots", balance("saver"), count, restore),
    ]

    def cleanup() -> None:
        current[0].close()
        for name in os.listdir(folder):
            os.remove(os.path.join(folder, name))
        os.rmdir(folder)

    info = {
        **{f"entries {m}": n for m, n in sizes.items()},
        **{f"lots {m}": n for m, n in lots.items()},
        **{f"tier-metric contributions {m}": n for m, n in metric.items()},
    }
    return trials, cleanup, info


def _fresh_copy(program: rk.Program, built: str, working: str) -> rk.Rewards:
    """A kit on a fresh copy of the file at ``built`` (its write-ahead log folded in)."""
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(working + suffix):
            os.remove(working + suffix)
    with sqlite3.connect(built) as source, sqlite3.connect(working) as target:
        source.backup(target)
    return rk.Rewards(program, store=SQLiteStore(working, synchronous=_SYNC))


# ---------------------------------------------------------------- many members


_DUE_EARNED = datetime(2024, 1, 10, 12, 0, tzinfo=UTC)  # its lot expires 2025-01-10
_LATER_EARNED = datetime(2025, 6, 10, 12, 0, tzinfo=UTC)  # expires 2026-06-10
SWEEP_AT = datetime(2025, 3, 1, tzinfo=UTC)


def _member(number: int) -> str:
    return f"m{number:07d}"


def _template(program: rk.Program, earned: datetime) -> dict[str, Any]:
    """One member's rows after one purchase, made by the engine, as text in which the
    member id (``m0000000``) is replaced for every other member."""
    member = _member(0)
    action = rk.Action(
        id=f"seed-{member}",
        member=member,
        kind="purchase",
        at=earned,
        amount=Decimal("12.40"),
        attributes={"category": "coffee", "channel": "store", "items": 1},
    )
    result = evaluate(program, blank_state(member), action)
    from rewardkit.facade import _action_request

    receipt = receipt_row(
        Receipt("record", action.id, member, _action_request(action), result.outcome)
    )
    return {
        "state": _fastcodec.dumps_state(result.state),
        "due": micros(result.state.next_due()),
        "entries": result.outcome.entries,
        "receipt": receipt,
    }


def big_database(program: rk.Program, path: str, members: int, due_share: float) -> float:
    """A SQLite file of ``members`` members, each with one purchase (its state, ledger
    entry and receipt), a ``due_share`` of them with points expiring before
    :data:`SWEEP_AT`; written with executemany of prepared rows, not the facade.
    Returns the seconds it took."""
    started = time.perf_counter()
    store = SQLiteStore(path, synchronous="NORMAL")  # the schema
    store.close()
    due = _template(program, _DUE_EARNED)
    later = _template(program, _LATER_EARNED)
    every = max(round(1 / due_share), 1) if due_share else 0
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA synchronous=OFF")
    connection.execute("BEGIN")

    def rows() -> Iterator[tuple[Any, ...]]:
        for number in range(members):
            yield number, (due if every and number % every == 0 else later)

    seed = _member(0)
    batch_members: list[Any] = []
    batch_entries: list[Any] = []
    batch_receipts: list[Any] = []
    for number, template in rows():
        member = _member(number)
        entries = [
            rk.Entry(
                member,
                e.seq,
                e.at,
                e.kind,
                e.currency,
                e.points,
                e.balance,
                e.debt,
                e.cause.replace(seed, member),
                e.reason,
                e.pending,
            )
            for e in template["entries"]
        ]
        hashes = link(member, None, entries)
        batch_members.append(
            (member, 1, template["state"].replace(seed, member), template["due"], hashes[-1])
        )
        batch_entries.extend(entry_row(member, e, h) for e, h in zip(entries, hashes, strict=True))
        operation, rid, _, request, outcome = template["receipt"]
        batch_receipts.append(
            (
                operation,
                rid.replace(seed, member),
                member,
                request.replace(seed, member),
                outcome.replace(seed, member),
                1,
            )
        )
        if len(batch_members) >= 20_000:
            _flush(connection, batch_members, batch_entries, batch_receipts)
    _flush(connection, batch_members, batch_entries, batch_receipts)
    connection.execute("COMMIT")
    connection.close()
    return time.perf_counter() - started


def _flush(
    connection: sqlite3.Connection, members: list[Any], entries: list[Any], receipts: list[Any]
) -> None:
    connection.executemany(
        "INSERT INTO members(id, version, state, due, head) VALUES (?, ?, ?, ?, ?)", members
    )
    connection.executemany(
        "INSERT INTO entries(member, seq, at, kind, currency, points, balance, debt, cause,"
        " reason, pending, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        entries,
    )
    connection.executemany(
        "INSERT INTO receipts(operation, id, member, request, outcome, version)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        receipts,
    )
    members.clear()
    entries.clear()
    receipts.clear()


def members_trials(
    program: rk.Program, small: str, big: str, sizes: tuple[int, int]
) -> tuple[list[Trial], Callable[[], None]]:
    """``record`` and ``balance`` on a file of ``sizes[0]`` members and on one of
    ``sizes[1]``, side by side: random existing members, new action ids."""
    kits = {
        name: rk.Rewards(program, store=SQLiteStore(path, synchronous=_SYNC))
        for name, path in (("small", small), ("big", big))
    }
    # Stores that keep no state decoded: every call reads its member from the file.  The
    # small one on a copy of its file, so that its records leave the states the first
    # store keeps as they are (a store's kept state is read again once another changed it).
    cold_small = small + ".cold"
    with sqlite3.connect(small) as source, sqlite3.connect(cold_small) as target:
        source.backup(target)
    kits.update(
        (name, rk.Rewards(program, store=SQLiteStore(path, synchronous=_SYNC, cache_size=0)))
        for name, path in (("small, cold", cold_small), ("big, cold", big))
    )
    rng = random.Random(11)
    run_id = time.time_ns()  # new ids even in a file a former run wrote to
    clock = [_LATER_EARNED + timedelta(days=1)]
    count = 300
    rounds = [0]

    def pick(members: int, first: int = 0) -> str:
        """A member whose points are not due at the sweep (every 100th is): records
        leave the sweep the same members to do."""
        number = first + rng.randrange(members)
        return _member(number if number % 100 else number + 1)

    def record(name: str, members: int, first: int = 0) -> Callable[[], int]:
        def run() -> int:
            rounds[0] += 1
            kit = kits[name]
            total = 0
            for n in range(count):
                clock[0] += timedelta(seconds=5)
                member = pick(members, first)
                action = rk.Action(
                    id=f"bench-{run_id}-{rounds[0]}-{n}",
                    member=member,
                    kind="visit",
                    at=clock[0],
                )
                total += kit.record(action).points
            return total

        return run

    def balance(name: str, members: int, first: int = 0) -> Callable[[], int]:
        kit = kits[name]
        return lambda: sum(
            kit.balance(pick(members, first), at=clock[0]) >= 0 for _ in range(count)
        )

    # The same active members in both files (the first ``sizes[0]``): only the size of
    # the file differs.  Then any member of the big file, which the store has not kept
    # decoded: what a member not seen for long costs.  Last, stores that keep nothing
    # decoded: as many members of each file, with the same history (the small file's
    # members on its copy; as many others of the big file's, which its first store does
    # not ask for), every one read from its file, so the pair differs by the file alone.
    active = sizes[0]
    trials = [
        Trial(f"record, {sizes[0]:,} members", record("small", active), count),
        Trial(f"record, {sizes[1]:,} members", record("big", active), count),
        Trial(f"balance, {sizes[0]:,} members", balance("small", active), count),
        Trial(f"balance, {sizes[1]:,} members", balance("big", active), count),
        Trial(f"record, {sizes[1]:,} members, any member", record("big", sizes[1]), count),
        Trial(f"balance, {sizes[1]:,} members, any member", balance("big", sizes[1]), count),
        Trial(f"record, {sizes[0]:,} members, none kept", record("small, cold", active), count),
        Trial(
            f"record, {sizes[1]:,} members, none kept", record("big, cold", active, active), count
        ),
        Trial(f"balance, {sizes[0]:,} members, none kept", balance("small, cold", active), count),
        Trial(
            f"balance, {sizes[1]:,} members, none kept",
            balance("big, cold", active, active),
            count,
        ),
    ]

    def cleanup() -> None:
        for kit in kits.values():
            kit.close()
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(cold_small + suffix):
                os.remove(cold_small + suffix)

    return trials, cleanup


def sweep(program: rk.Program, path: str) -> tuple[int, float]:
    """``expire(SWEEP_AT)`` on the file at ``path``: the members touched and seconds."""
    kit = rk.Rewards(program, store=SQLiteStore(path, synchronous=_SYNC))
    try:
        started = time.perf_counter()
        report = kit.expire(at=SWEEP_AT)
        return report.members, time.perf_counter() - started
    finally:
        kit.close()
