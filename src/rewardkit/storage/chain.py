"""The tamper-evident ledger: every member's entries form a hash chain.

An entry's hash is ``sha256(previous_hash + "\\n" + canonical_content)`` in lowercase hex,
where ``previous_hash`` is the hash of the member's previous entry or, for the first
entry, the member's genesis value ``sha256("rewardkit-ledger-v1\\n" + member)``, and
``canonical_content`` is the entry as compact JSON with sorted keys (the instant in UTC
with microseconds, the kind by value).  Every store computes hashes with :func:`link`
inside its commit, so the memory, SQLite and PostgreSQL stores agree byte for byte, and
keeps them next to the entries together with the member's head (its last hash).

:func:`verify` walks every member's chain and reports the first broken entry of each.
Changing any field of an entry, deleting, inserting or reordering entries, or cutting
the end of a ledger is detected.  What a chain cannot prove by itself: someone able to
rewrite the database can recompute every hash after a change.  Keep the report's
``heads`` somewhere else (a log, a notary, another database) and compare them later to
catch that too: a ledger only grows, so an old head must still be in the chain.
"""

from __future__ import annotations

import hashlib
import json
import json.encoder
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC

import attrs

from ..errors import StoreError
from ..model import Entry
from .base import Chain, Store

__all__ = ["Break", "VerifyReport", "check", "content", "entry_hash", "genesis", "link", "verify"]

_VERSION = b"rewardkit-ledger-v1\n"

# Every field of Entry, in the canonical content.  A new Entry field must be added here
# (with a new chain version), which a test enforces: no field goes unprotected silently.
FIELDS = (
    "member",
    "seq",
    "at",
    "kind",
    "currency",
    "points",
    "balance",
    "debt",
    "cause",
    "reason",
    "pending",
)


def genesis(member: str) -> str:
    """The value a member's first entry is chained to."""
    return hashlib.sha256(_VERSION + member.encode()).hexdigest()


def content(entry: Entry) -> bytes:
    """An entry's canonical content: the bytes its hash covers.

    Compact JSON with sorted keys, as ``json.dumps(..., sort_keys=True,
    separators=(",", ":"), ensure_ascii=False)`` writes it (a test holds the two
    equal), put together directly: every commit hashes every entry it writes."""
    if not (
        type(entry.balance) is int
        and type(entry.debt) is int
        and type(entry.pending) is int
        and type(entry.points) is int
        and type(entry.seq) is int
    ):
        return _dumped(entry)  # a number of another type: let json say how it reads
    text = _string
    return (
        f'{{"at":"{entry.at.astimezone(UTC).isoformat(timespec="microseconds")}",'
        f'"balance":{entry.balance},"cause":{text(entry.cause)},'
        f'"currency":{text(entry.currency)},"debt":{entry.debt},'
        f'"kind":{text(str(entry.kind.value))},"member":{text(entry.member)},'
        f'"pending":{entry.pending},"points":{entry.points},'
        f'"reason":{text(entry.reason)},"seq":{entry.seq}}}'
    ).encode()


def _dumped(entry: Entry) -> bytes:
    data = {name: getattr(entry, name) for name in FIELDS}
    data["at"] = entry.at.astimezone(UTC).isoformat(timespec="microseconds")
    data["kind"] = str(entry.kind.value)
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


_string: Callable[[str], str] = json.encoder.encode_basestring  # what json.dumps uses


def entry_hash(previous: str, entry: Entry) -> str:
    """The hash of ``entry`` chained to ``previous`` (a hash, or the member's genesis)."""
    return hashlib.sha256(previous.encode("ascii") + b"\n" + content(entry)).hexdigest()


def link(
    member: str, head: str | None, entries: Sequence[Entry], *, count: int | None = None
) -> list[str]:
    """The hashes of ``entries`` appended to ``member``'s chain, which ends at ``head``
    (``None``: no entry yet).  The last hash is the member's new head.

    ``count`` is how many entries the member's new state says it has: the entries must
    then be its last ones, numbered on from the ones before (a store passes
    ``unit.state.entries``, so no gap or repeat is ever chained)."""
    if count is not None:
        numbers = [entry.seq for entry in entries]
        expected = list(range(count - len(numbers), count))
        if numbers != expected:
            raise StoreError(
                f"a commit for member {member!r} holds entries numbered {numbers}, but its "
                f"state counts {count} entries, so they must be numbered {expected}"
            )
    previous = genesis(member) if head is None else head
    hashes = []
    for entry in entries:
        if entry.member != member:
            raise StoreError(
                f"a commit for member {member!r} holds an entry of member {entry.member!r}"
            )
        previous = entry_hash(previous, entry)
        hashes.append(previous)
    return hashes


@attrs.frozen
class Break:
    """The first entry where a member's chain is broken, and what is wrong with it."""

    member: str
    seq: int
    problem: str

    def __str__(self) -> str:
        return f"member {self.member!r}, entry {self.seq}: {self.problem}"


@attrs.frozen
class VerifyReport:
    """What :func:`verify` found: how much it checked, every broken chain (the first
    broken entry of each member), and the head hash of every intact chain."""

    members: int
    entries: int
    broken: tuple[Break, ...] = ()
    heads: Mapping[str, str] = attrs.field(factory=dict, hash=False)

    @property
    def ok(self) -> bool:
        return not self.broken

    def __str__(self) -> str:
        entries = _count(self.entries, "ledger entry", "ledger entries")
        checked = f"{entries} of {_count(self.members, 'member', 'members')}"
        if self.ok:
            return f"{checked}: every chain is intact"
        lines = "\n".join(f"  - {problem}" for problem in self.broken)
        broken = _count(len(self.broken), "broken chain", "broken chains")
        return f"{checked}: {broken}:\n{lines}"


def _count(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"


def check(chain: Chain) -> Break | None:
    """The first broken entry of one member's chain, or ``None`` if it is intact."""
    member = chain.member
    previous = genesis(member)
    for index, item in enumerate(chain.links):
        entry = item.entry
        if entry.seq != index:
            return Break(
                member,
                index,
                f"entry {entry.seq} is where entry {index} should be: entries were removed, "
                "inserted or reordered",
            )
        if entry.member != member:
            return Break(member, index, f"the entry names another member: {entry.member!r}")
        if item.hash != entry_hash(previous, entry):
            return Break(
                member,
                index,
                "its hash does not match its content chained to the previous entry: this "
                "entry was changed, or entries before it were changed, moved or removed",
            )
        previous = item.hash
    last = chain.links[-1].hash if chain.links else None
    if chain.head != last:
        hashes = [item.hash for item in chain.links]
        if chain.head in hashes:  # the chain goes on past the member's head
            return Break(
                member,
                hashes.index(chain.head) + 1,
                "the entry comes after the member's head hash: it was added to the end of "
                "the ledger outside rewardkit",
            )
        return Break(
            member,
            len(chain.links),
            "the member's head hash is not the hash of the last entry: entries were removed "
            "from the end of the ledger, or the head was changed",
        )
    return None


def verify(store: Store | str) -> VerifyReport:
    """Check every member's hash chain in ``store`` (a store, or a URL to open and close).

    A URL is opened without migrating its schema: an old schema is reported as a
    :class:`~rewardkit.errors.StoreError`, not silently upgraded and then verified."""
    if isinstance(store, str):
        from . import open_store

        opened = open_store(store, auto_migrate=False)
        try:
            return verify(opened)
        finally:
            opened.close()
    members = entries = 0
    broken: list[Break] = []
    heads: dict[str, str] = {}
    for member in store.members():
        chain = store.chain(member)
        members += 1
        entries += len(chain.links)
        problem = check(chain)
        if problem is not None:
            broken.append(problem)
        elif chain.head is not None:
            heads[member] = chain.head
    return VerifyReport(members, entries, tuple(broken), heads)
