"""Café Aroma's loyalty programme inside a small Flask app.

    flask --app examples/webapp/app.py run          (points kept in ./cafe-rewards.db)

Routes:

    POST /orders                                     the shop's "order paid" webhook
    POST /orders/<order_id>/refund                   the shop's "order refunded" webhook
    POST /members/<member>/redeem/<reward>           a member redeems (Idempotency-Key)
    POST /members/<member>/raffles/<raffle>/tickets  a member buys tickets (Idempotency-Key)
    GET  /members/<member>                           balance, level, tickets and nudges

Every write carries an id that comes from the thing that happened (the order id, the
refund id, the key the client made once for one tap on "Redeem"), so a webhook
delivered twice or a form submitted twice counts once.  rewardkit's errors become
HTTP statuses with their message: 400 bad input (naming the field), 404 unknown
reward, order or raffle, 409 refused (not enough points, out of stock, an id reused
for another request), 503 try again.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask, request

import rewardkit as rk

HERE = Path(__file__).resolve().parent
DEFAULT_STORE = "sqlite:///cafe-rewards.db"

Clock = Callable[[], datetime]
Reply = tuple[dict[str, Any], int]

# The HTTP status of each refusal, most specific first.
STATUS: tuple[tuple[type[Exception], int], ...] = (
    (rk.InvalidAction, 400),  # a malformed request: the message names the field
    (rk.InsufficientPoints, 409),
    (rk.RewardUnavailable, 409),  # out of stock, outside its window, for a higher level
    (rk.RaffleError, 409),  # the raffle is closed, or the member holds the maximum
    (rk.IdempotencyConflict, 409),  # an id already used for a different request
    (LookupError, 404),  # UnknownReward, UnknownAction, UnknownRaffle
    (rk.ConcurrencyConflict, 503),  # nothing was committed: retry with the same id
    (rk.StoreError, 503),  # the database is unreachable: retry with the same id
)


class BadInput(Exception):
    """A request this app cannot read: a missing or malformed field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field!r} {message}")
        self.field = field


def utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(
    store_url: str | None = None,
    program_path: str | Path = HERE / "cafe.toml",
    *,
    clock: Clock = utc_now,
) -> Flask:
    """The app, with one `rk.Rewards` for the whole process.

    `store_url`: `sqlite:///path.db` for one machine, `postgresql://...` when several
    app servers share the members; by default `$REWARDKIT_STORE`, else a SQLite file.
    `clock` gives "now" for redemptions, tickets and what a member sees; orders and
    refunds carry their own instants.
    """
    program = rk.load_program(program_path)  # a bad programme stops the app at start-up
    url = store_url or os.environ.get("REWARDKIT_STORE", DEFAULT_STORE)
    kit = rk.Rewards(program, store=url, clock=clock)
    atexit.register(kit.close)  # one kit per process, closed when the process exits

    app = Flask(__name__)
    app.extensions["rewardkit"] = kit
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep the fields' order

    @app.post("/orders")
    def order_paid() -> dict[str, Any]:
        """Record a paid order.  Call this once the order is committed in your own
        database: from the payment webhook, or just after the checkout's commit."""
        data = payload()
        order_id = text(data, "order_id")
        action = rk.Action(
            id=f"order-{order_id}",  # the order's own id: a retried webhook replays
            member=text(data, "member"),
            kind="purchase",
            at=instant(data, "paid_at"),  # the order's time, not the time of this retry
            amount=data.get("amount"),  # rewardkit checks it: 400 naming 'amount'
        )
        return outcome(kit.record(action))

    @app.post("/orders/<order_id>/refund")
    def order_refunded(order_id: str) -> dict[str, Any]:
        """Take back what an order earned: all of it, or in proportion to `amount`."""
        data = payload()
        refund_id = text(data, "refund_id")
        at = instant(data, "refunded_at") if "refunded_at" in data else None
        out = kit.reverse(
            f"order-{order_id}", id=f"refund-{refund_id}", at=at, amount=data.get("amount")
        )
        return outcome(out)

    @app.post("/members/<member>/redeem/<reward>")
    def redeem(member: str, reward: str) -> dict[str, Any]:
        """Spend points on a reward now.  The client makes the key once per tap (or per
        rendered form) and sends it with every retry."""
        key = idempotency_key(payload())
        return outcome(kit.redeem(member, reward, id=f"redeem:{member}:{key}"))

    @app.post("/members/<member>/raffles/<raffle>/tickets")
    def buy_tickets(member: str, raffle: str) -> dict[str, Any]:
        data = payload()
        key = idempotency_key(data)
        tickets = data.get("tickets", 1)  # rewardkit checks it: 400 naming 'tickets'
        if isinstance(tickets, str) and tickets.isdigit():  # a form sends text
            tickets = int(tickets)
        out = kit.enter(raffle, member, id=f"tickets:{member}:{key}", tickets=tickets)
        return outcome(out)

    @app.get("/members/<member>")
    def member_page(member: str) -> dict[str, Any]:
        """What the member's screen shows.  A member never seen has 0 points."""
        now = clock()
        view = kit.member(member, at=now)
        return {
            "member": member,
            "balance": view.balance,
            "tier": view.tier,
            "tickets": dict(view.tickets),
            "nudges": [
                {"kind": nudge.kind, "message": nudge.message}
                for nudge in kit.nudges(member, at=now)
            ],
        }

    @app.errorhandler(BadInput)
    def bad_input(error: BadInput) -> Reply:
        return {"error": str(error), "field": error.field}, 400

    @app.errorhandler(rk.RewardkitError)
    def refused(error: rk.RewardkitError) -> tuple[dict[str, Any], int, dict[str, str]]:
        status = next((code for kind, code in STATUS if isinstance(error, kind)), 500)
        body: dict[str, Any] = {"error": str(error)}
        if isinstance(error, rk.InvalidAction):
            body["field"] = error.field
        if isinstance(error, rk.InsufficientPoints):
            body.update(balance=error.balance, cost=error.needed)  # .needed is the cost
        headers = {"Retry-After": "1"} if status == 503 else {}
        return body, status, headers

    return app


# ---------------------------------------------------------------- reading requests


def payload() -> Mapping[str, Any]:
    """The request's JSON object, or its form fields."""
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else request.form


def text(data: Mapping[str, Any], field: str) -> str:
    value = data.get(field)
    if not isinstance(value, str | int) or isinstance(value, bool) or str(value) == "":
        raise BadInput(field, "is required")
    return str(value)


def instant(data: Mapping[str, Any], field: str) -> datetime:
    example = "such as '2026-03-20T09:30:00+01:00'"
    try:
        at = datetime.fromisoformat(text(data, field))
    except ValueError:
        raise BadInput(field, f"must be an ISO 8601 instant, {example}") from None
    if at.tzinfo is None:
        raise BadInput(field, f"needs a UTC offset, {example}")
    return at


def idempotency_key(data: Mapping[str, Any]) -> str:
    """From the `Idempotency-Key` header (an API client) or the `idempotency_key` field
    (an HTML form that rendered it as a hidden input)."""
    key = request.headers.get("Idempotency-Key") or data.get("idempotency_key")
    if not isinstance(key, str) or not key.strip():
        raise BadInput("Idempotency-Key", "header (or idempotency_key field) is required")
    return key.strip()


def outcome(out: rk.Outcome) -> dict[str, Any]:
    return {
        "member": out.member,
        "points": out.points,
        "balance": out.balance,
        "replayed": out.replayed,  # True: a retry; nothing changed, send no e-mail again
    }
