"""The manager's HTML report: self-contained, escaped, and true to the analytics."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import rewardkit as rk
from rewardkit._report import fmt
from rewardkit.analytics import Assumptions, Insights, analyse
from rewardkit.report import render_report, write_report

MADRID = ZoneInfo("Europe/Madrid")
REPORT_AT = datetime(2026, 3, 2, 9, 0, tzinfo=MADRID)  # a Monday morning

# ---------------------------------------------------------------- a café, simulated

_FIRST = [
    "ana",
    "lucia",
    "carmen",
    "pablo",
    "javier",
    "marta",
    "sofia",
    "diego",
    "elena",
    "hugo",
    "irene",
    "alba",
    "mario",
    "nuria",
    "raul",
    "sara",
    "ivan",
    "laura",
    "jorge",
    "paula",
    "alex",
    "noa",
    "leo",
    "vera",
    "omar",
    "clara",
    "bruno",
    "rosa",
    "teo",
    "lola",
]
_LAST = [
    "garcia",
    "moreno",
    "lopez",
    "ruiz",
    "navarro",
    "diaz",
    "torres",
    "vidal",
    "serra",
    "romero",
    "molina",
    "ortega",
    "castro",
    "rubio",
    "marin",
    "sanz",
    "iglesias",
    "nunez",
    "medina",
    "garrido",
]


def cafe_report_program() -> rk.Program:
    """Café Aroma with a promotion, tiers reviewed every quarter and points that expire."""
    return rk.Program(
        name="Café Aroma",
        timezone="Europe/Madrid",
        rules=(
            rk.per_amount("base", on="purchase", per="1.00", points=1),
            rk.first_time("welcome", on="purchase", points=50),
            rk.multiplier(
                "weekend-double", factor=2, targets=["base"], when=rk.weekday("sat", "sun")
            ),
            rk.multiplier(
                "autumn-promo",
                factor=3,
                targets=["base"],
                when=rk.date_between("2025-10-13", "2025-10-26"),
            ),
        ),
        rewards=(
            rk.reward("croissant", cost=60, name="a croissant"),
            rk.reward("free-coffee", cost=100, name="a free coffee"),
            rk.reward("mug", cost=400, name="the Aroma mug"),
        ),
        expiry=rk.fixed_term({"months": 4}),
        tiers=rk.ladder(
            metric="points_earned",
            window={"months": 3},
            levels=[
                rk.level("silver", 250, multiplier="1.25"),
                rk.level("gold", 600, multiplier="1.5"),
            ],
            keep=rk.keep_for({"months": 2}),
        ),
    )


@dataclass(frozen=True)
class _Persona:
    share: float
    every: tuple[float, float]  # days between visits
    ticket: tuple[int, int]  # euros
    stops: bool = False  # lapses part-way
    once: bool = False


_PERSONAS = (
    _Persona(0.08, (1.0, 3.0), (3, 9)),  # the regulars
    _Persona(0.22, (4.0, 9.0), (4, 14)),  # weekly
    _Persona(0.25, (12.0, 35.0), (5, 22)),  # now and then
    _Persona(0.17, (0, 0), (3, 12), once=True),  # came once
    _Persona(0.22, (3.0, 8.0), (4, 16), stops=True),  # drifting away
    _Persona(0.06, (3.0, 7.0), (25, 70)),  # office orders
)


def _names(count: int, rng: random.Random) -> list[str]:
    pool = [f"{first}.{last}" for first in _FIRST for last in _LAST]
    rng.shuffle(pool)
    return sorted(pool[:count])


def cafe_store(members: int = 160, seed: int = 7) -> rk.Rewards:
    """A café's six months (Sep 2025 to the Monday of the report), built through the
    facade: personas with their own rhythm, redemptions, refunds, a promotion."""
    rng = random.Random(seed)
    kit = rk.Rewards(cafe_report_program(), store="memory://")
    start = datetime(2025, 9, 1, 8, 0, tzinfo=MADRID)
    end = REPORT_AT - timedelta(hours=1)
    span = (end - start).total_seconds()
    weights = [p.share for p in _PERSONAS]
    for n, member in enumerate(_names(members, rng)):
        persona = rng.choices(_PERSONAS, weights)[0]
        joined = start + timedelta(seconds=rng.random() ** 1.6 * span * 0.95)
        stop = end
        if persona.stops:
            stop = joined + timedelta(days=rng.uniform(20, 120))
        when = joined
        visit = 0
        while when < min(stop, end):
            visit += 1
            local = when.replace(hour=rng.choice((8, 9, 10, 13, 17, 18)), minute=rng.randrange(60))
            amount = Decimal(rng.randint(*persona.ticket)) + Decimal(rng.randrange(0, 100, 5)) / 100
            action_id = f"{member}/{visit}"
            kit.record(
                rk.Action(id=action_id, member=member, kind="purchase", at=local, amount=amount)
            )
            if rng.random() < 0.015:
                kit.reverse(action_id, id=f"refund/{action_id}", at=local + timedelta(hours=3))
            balance = kit.balance(member, at=local)
            wanted = rng.choice(("croissant", "free-coffee", "free-coffee", "mug"))
            cost = kit.program.reward(wanted).cost
            if balance >= cost and rng.random() < 0.55:
                kit.redeem(member, wanted, id=f"{action_id}/r", at=local + timedelta(minutes=5))
            if persona.once:
                break
            gap = rng.uniform(*persona.every) * rng.choice((1, 1, 1, 1.6))
            when = local + timedelta(days=gap)
        del n
    return kit


def cafe_insights(members: int = 160) -> Insights:
    kit = cafe_store(members)
    return analyse(kit.program, kit.store, REPORT_AT, Assumptions(point_value="0.02"))


# ---------------------------------------------------------------- reading the report back


class _Figures(HTMLParser):
    """Collects every element's data-figure, data-value and text; and tags seen."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.figures: list[tuple[str, str, str]] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self._open: list[tuple[str, str, list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.tags.append((tag, found))
        figure = found.get("data-figure")
        if figure is not None:
            self._open.append((figure, found.get("data-value") or "", []))

    def handle_data(self, data: str) -> None:
        for _, _, text in self._open:
            text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self._open:
            figure, value, text = self._open.pop()
            self.figures.append((figure, value, "".join(text)))


def read(page: str) -> _Figures:
    parser = _Figures()
    parser.feed(page)
    return parser


def resolve(root: object, path: str) -> Any:
    """``flows[3].issued`` on ``root``."""
    value: Any = root
    for part in re.findall(r"[A-Za-z_]+|\[\d+\]", path):
        value = value[int(part[1:-1])] if part.startswith("[") else getattr(value, part)
    return value


def test_every_figure_in_the_report_is_the_analytics_figure_formatted() -> None:
    insights = cafe_insights(60)
    page = render_report(insights, currency_symbol="€")
    figures = read(page).figures
    assert len(figures) > 80
    formats = {int: fmt.integer, timedelta: fmt.days}
    checked = set()
    for path, raw, text in figures:
        value = resolve(insights, path)
        assert raw == str(value), path
        if isinstance(value, Decimal):
            money = fmt.money(value, "€")
            assert text in (money, fmt.percent(value), fmt.ratio(value)), (path, text)
        elif value is None:
            assert text == "n/a", path
        else:
            assert text == formats[type(value)](value), (path, text)
        checked.add(path.split("[")[0].split(".")[0])
    assert checked >= {"totals", "liability", "pareto", "flows", "rfm", "churn", "rules"}


def test_the_headline_figures_are_in_the_report() -> None:
    insights = cafe_insights(60)
    figures = {path: text for path, _, text in read(render_report(insights)).figures}
    assert figures["totals.members"] == fmt.integer(insights.totals.members) == "60"
    assert figures["totals.outstanding"] == fmt.integer(insights.totals.outstanding)
    assert figures["liability.amount"] == fmt.money(insights.liability.amount)
    assert figures["totals.redemption_rate"] == fmt.percent(insights.totals.redemption_rate)
    assert figures["pareto.top_spend_share"] == fmt.percent(insights.pareto.top_spend_share)


def test_the_report_loads_nothing_and_needs_no_script() -> None:
    page = render_report(cafe_insights(30))
    tags = read(page).tags
    assert not [t for t, _ in tags if t in ("script", "link", "iframe", "img", "object")]
    for _, attrs in tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), name
            assert "http" not in (value or "") or name == "xmlns", (name, value)
    assert "@import" not in page and "url(" not in page
    assert "@media print" in page


def test_user_strings_are_escaped() -> None:
    hostile = "<script>alert(1)</script>"
    program = rk.Program(
        name='Café "<b>Aroma</b>"',
        timezone="Europe/Madrid",
        rules=(rk.per_amount("<img src=x onerror=alert(2)>", on="purchase", per="1", points=1),),
        rewards=(rk.reward("coffee", cost=5, name="<i>coffee</i>"),),
    )
    kit = rk.Rewards(program, store="memory://")
    for n, when in enumerate(("2026-01-05", "2026-01-12", "2026-01-19")):
        day = datetime.fromisoformat(when).replace(hour=9, tzinfo=MADRID)
        kit.record(rk.Action(id=f"a{n}", member=hostile, kind="purchase", at=day, amount="9"))
    kit.record(rk.Action(id="b", member="bob", kind="purchase", at=REPORT_AT, amount="1"))
    insights = analyse(program, kit.store, REPORT_AT)
    assert insights.churn.contact[0].member == hostile
    page = render_report(insights)
    assert "<script" not in page and "<img" not in page and "<i>coffee" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page
    assert "<b>Aroma" not in page
    tags = read(page).tags
    assert [t for t, _ in tags].count("script") == 0


def test_write_report_writes_one_utf8_file(tmp_path: Path) -> None:
    insights = cafe_insights(20)
    path = write_report(tmp_path / "report.html", insights, currency_symbol="€")
    assert path.read_text(encoding="utf-8") == render_report(insights, currency_symbol="€")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_an_empty_store_renders() -> None:
    program = rk.Program(name="Empty", timezone="UTC")
    page = render_report(analyse(program, rk.MemoryStore(), REPORT_AT))
    assert "No points have moved yet" in page and "</html>" in page


def test_render_report_refuses_what_is_not_insights() -> None:
    with pytest.raises(TypeError, match="Insights"):
        render_report({"members": 1})  # type: ignore[arg-type]
