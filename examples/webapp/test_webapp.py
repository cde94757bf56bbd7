"""The web app example, through Flask's test client: retries count once, errors have
the right status and name the field, and a member's page shows where they stand.

    pytest examples/webapp
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient

import rewardkit as rk

HERE = Path(__file__).resolve().parent
MADRID = ZoneInfo("Europe/Madrid")
NOW = datetime(2026, 3, 21, 18, 0, tzinfo=MADRID)  # a Saturday, while the raffle is open


def load_example() -> ModuleType:
    """app.py under a name of its own, so that no other `app` module can shadow it."""
    spec = importlib.util.spec_from_file_location("webapp_example_app", HERE / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


example = load_example()


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    app: Flask = example.create_app(f"sqlite:///{tmp_path / 'rewards.db'}", clock=lambda: NOW)
    yield app
    kit(app).close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def kit(app: Flask) -> rk.Rewards:
    found: rk.Rewards = app.extensions["rewardkit"]
    return found


def order(order_id: str = "1001", **fields: str) -> dict[str, str]:
    data = {
        "order_id": order_id,
        "member": "ana",
        "amount": "50.00",
        "paid_at": "2026-03-20T09:30:00+01:00",  # a Friday
    }
    return {**data, **fields}


def post(client: FlaskClient, url: str, key: str | None = None, **options: Any) -> Any:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post(url, headers=headers, **options)


# ---------------------------------------------------------------- orders


def test_an_order_earns_points_and_a_retried_webhook_counts_once(client: FlaskClient) -> None:
    first = client.post("/orders", json=order())
    again = client.post("/orders", json=order())
    assert first.status_code == again.status_code == 200
    assert first.get_json() == {"member": "ana", "points": 75, "balance": 75, "replayed": False}
    assert again.get_json() == {"member": "ana", "points": 75, "balance": 75, "replayed": True}
    assert client.get("/members/ana").get_json()["balance"] == 75


def test_the_same_instant_in_another_zone_is_the_same_order(client: FlaskClient) -> None:
    client.post("/orders", json=order())
    again = client.post("/orders", json=order(paid_at="2026-03-20T08:30:00Z"))
    assert again.status_code == 200 and again.get_json()["replayed"] is True


def test_a_double_submit_racing_on_many_threads_counts_once(
    app: Flask, client: FlaskClient
) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(pool.map(lambda _: client.post("/orders", json=order()), range(8)))
    assert [reply.status_code for reply in replies] == [200] * 8
    assert sorted(reply.get_json()["replayed"] for reply in replies) == [False] + [True] * 7
    assert kit(app).balance("ana", at=NOW) == 75


def test_an_order_id_reused_for_another_order_is_a_409(client: FlaskClient) -> None:
    client.post("/orders", json=order())
    reused = client.post("/orders", json=order(amount="60.00"))
    assert reused.status_code == 409
    assert "'amount' differs: recorded '50', now '60'" in reused.get_json()["error"]
    assert client.get("/members/ana").get_json()["balance"] == 75


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"member": ""}, "member", "'member' is required"),
        ({"order_id": None}, "order_id", "'order_id' is required"),
        ({"amount": "-3"}, "amount", "'amount' must not be negative: '-3'"),
        ({"amount": "lots"}, "amount", "'amount' must be a decimal number: 'lots'"),
        ({"paid_at": "yesterday"}, "paid_at", "'paid_at' must be an ISO 8601 instant"),
        ({"paid_at": "2026-03-20T09:30:00"}, "paid_at", "'paid_at' needs a UTC offset"),
    ],
)
def test_a_bad_order_is_a_400_naming_the_field(
    client: FlaskClient, fields: dict[str, Any], field: str, message: str
) -> None:
    reply = client.post("/orders", json={**order(), **fields})
    assert reply.status_code == 400
    assert reply.get_json()["field"] == field
    assert reply.get_json()["error"].startswith(message)
    assert client.get("/members/ana").get_json()["balance"] == 0


def test_an_order_may_come_as_form_fields(client: FlaskClient) -> None:
    reply = client.post("/orders", data=order())
    assert reply.status_code == 200 and reply.get_json()["points"] == 75


# ---------------------------------------------------------------- redeeming


def test_redeeming_spends_the_points_once_per_idempotency_key(client: FlaskClient) -> None:
    client.post("/orders", json=order(amount="80.00"))  # 80 + 25 welcome
    first = post(client, "/members/ana/redeem/free-coffee", key="tap-1")
    retried = post(client, "/members/ana/redeem/free-coffee", key="tap-1")
    assert first.get_json() == {"member": "ana", "points": -100, "balance": 5, "replayed": False}
    assert retried.status_code == 200 and retried.get_json()["replayed"] is True
    assert client.get("/members/ana").get_json()["balance"] == 5


def test_a_form_sends_its_key_as_a_hidden_field(client: FlaskClient) -> None:
    client.post("/orders", json=order(amount="80.00"))
    form = {"idempotency_key": "form-7f3a"}
    first = client.post("/members/ana/redeem/free-coffee", data=form)
    submitted_twice = client.post("/members/ana/redeem/free-coffee", data=form)
    assert first.get_json()["replayed"] is False and submitted_twice.get_json()["replayed"]
    assert client.get("/members/ana").get_json()["balance"] == 5


def test_redeeming_without_a_key_is_a_400(client: FlaskClient) -> None:
    reply = client.post("/members/ana/redeem/free-coffee")
    assert reply.status_code == 400 and reply.get_json()["field"] == "Idempotency-Key"


def test_redeeming_without_enough_points_is_a_409_and_changes_nothing(
    client: FlaskClient,
) -> None:
    client.post("/orders", json=order())
    reply = post(client, "/members/ana/redeem/free-coffee", key="tap-1")
    assert reply.status_code == 409
    error = "member 'ana' has 75 points but reward 'free-coffee' costs 100: 25 more needed"
    assert reply.get_json() == {"error": error, "balance": 75, "cost": 100}
    assert client.get("/members/ana").get_json()["balance"] == 75
    # A refused call does not use up its key: once Ana can afford it, the same tap works.
    client.post("/orders", json=order("1002", amount="15.00", paid_at="2026-03-21T11:00+01:00"))
    assert post(client, "/members/ana/redeem/free-coffee", key="tap-1").status_code == 200


def test_an_unknown_reward_is_a_404_listing_the_rewards(client: FlaskClient) -> None:
    reply = post(client, "/members/ana/redeem/tea", key="tap-1")
    assert reply.status_code == 404
    known = "aroma-mug, breakfast-for-two, free-coffee"
    assert reply.get_json()["error"] == f"no reward 'tea' in the catalogue; known rewards: {known}"


def test_a_reward_for_a_higher_level_is_a_409(client: FlaskClient) -> None:
    client.post("/orders", json=order(amount="300.00"))  # 325 points: Gold from 300
    assert client.get("/members/ana").get_json()["tier"] == "gold"
    assert post(client, "/members/luis/redeem/aroma-mug", key="k").status_code == 409
    assert post(client, "/members/ana/redeem/aroma-mug", key="k").status_code == 200


# ---------------------------------------------------------------- refunds


def test_a_refund_takes_back_what_the_order_earned_once(client: FlaskClient) -> None:
    client.post("/orders", json=order())  # 50 base + 25 welcome
    refund = {"refund_id": "r-1", "amount": "20.00", "refunded_at": "2026-03-21T10:00+01:00"}
    first = client.post("/orders/1001/refund", json=refund)
    again = client.post("/orders/1001/refund", json=refund)
    assert first.get_json() == {"member": "ana", "points": -30, "balance": 45, "replayed": False}
    assert again.get_json()["replayed"] is True
    assert client.get("/members/ana").get_json()["balance"] == 45


def test_a_refund_of_an_unknown_order_is_a_404(client: FlaskClient) -> None:
    reply = client.post("/orders/9999/refund", json={"refund_id": "r-1"})
    assert reply.status_code == 404
    assert reply.get_json()["error"] == "no recorded action with id 'order-9999'"


# ---------------------------------------------------------------- raffle tickets


def test_tickets_are_earned_with_orders_and_bought_with_points(client: FlaskClient) -> None:
    client.post("/orders", json=order())  # 5 tickets for 50 euros, 75 points
    bought = post(client, "/members/ana/raffles/spring/tickets", key="t-1", json={"tickets": 2})
    assert bought.get_json() == {"member": "ana", "points": -40, "balance": 35, "replayed": False}
    page = client.get("/members/ana").get_json()
    assert page["tickets"] == {"spring": 7} and page["balance"] == 35


def test_a_form_buys_tickets_with_its_hidden_key(client: FlaskClient) -> None:
    client.post("/orders", json=order())
    form = {"idempotency_key": "form-1", "tickets": "2"}
    first = client.post("/members/ana/raffles/spring/tickets", data=form)
    again = client.post("/members/ana/raffles/spring/tickets", data=form)
    assert first.get_json()["points"] == -40 and again.get_json()["replayed"] is True
    assert client.get("/members/ana").get_json()["tickets"] == {"spring": 7}


@pytest.mark.parametrize(
    ("url", "body", "status"),
    [
        ("/members/ana/raffles/spring/tickets", {"tickets": 0}, 400),
        ("/members/ana/raffles/spring/tickets", {"tickets": "two"}, 400),
        ("/members/ana/raffles/spring/tickets", {"tickets": 6}, 409),  # 5 + 6 > 10
        ("/members/ana/raffles/winter/tickets", {}, 404),
    ],
)
def test_tickets_refused(client: FlaskClient, url: str, body: dict[str, Any], status: int) -> None:
    client.post("/orders", json=order(amount="250.00"))
    assert post(client, url, key="t-1", json=body).status_code == status


# ---------------------------------------------------------------- the member's page


def test_the_member_page_shows_balance_level_tickets_and_nudges(client: FlaskClient) -> None:
    client.post("/orders", json=order())
    assert client.get("/members/ana").get_json() == {
        "member": "ana",
        "balance": 75,
        "tier": None,
        "tickets": {"spring": 5},
        "nudges": [
            {
                "kind": "reward_within_reach",
                "message": "75 points earned — only 25 to your free coffee",
            },
            {"kind": "next_tier", "message": "Only 25 more to reach Silver."},
        ],
    }


def test_a_member_never_seen_has_nothing_yet(client: FlaskClient) -> None:
    reply = client.get("/members/nobody")
    assert reply.status_code == 200
    assert reply.get_json() == {
        "member": "nobody",
        "balance": 0,
        "tier": None,
        "tickets": {},
        "nudges": [],
    }


# ---------------------------------------------------------------- set-up


def test_the_store_comes_from_rewardkit_store_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REWARDKIT_STORE", "memory://")
    app: Flask = example.create_app()  # what `flask --app app run` calls
    assert isinstance(kit(app).store, rk.MemoryStore)
    kit(app).close()
    monkeypatch.delenv("REWARDKIT_STORE")
    app = example.create_app()
    assert isinstance(kit(app).store, rk.SQLiteStore)
    kit(app).close()
    assert (tmp_path / "cafe-rewards.db").is_file()


def test_a_broken_programme_stops_the_app_at_start_up(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text('[program]\nname = "x"\n\n[[rewards]]\nid = "coffee"\n', encoding="utf-8")
    with pytest.raises(rk.ProgramError, match=r"rewards\[0\]"):
        example.create_app("memory://", broken)
