"""The manager's report: one self-contained HTML page rendered from ``Insights``.

No script, no network, no external font: inline CSS and SVG only, readable as text
and printable.  This module draws the points sections (headline, flows, liability,
80/20, tiers, rule costs); :mod:`.people` the member sections.
"""

from __future__ import annotations

from datetime import datetime

from ..analytics import Insights, PeriodFlow
from ..time import zone
from . import fmt, svg
from .figures import figure, panel, plural
from .fmt import esc
from .people import People
from .style import CSS

__all__ = ["render"]


class _Page(People):
    def __init__(self, insights: Insights, symbol: str, title: str | None) -> None:
        super().__init__(insights, symbol)
        self.title = title or f"{insights.program}: loyalty report"
        self.local_at = insights.at.astimezone(zone(insights.timezone))

    # ------------------------------------------------------------ sections

    def header(self) -> str:
        i = self.i
        return (
            f'<header><p class="kicker">Loyalty programme report</p><h1>{esc(i.program)}</h1>'
            f'<p class="meta">As of <time datetime="{esc(i.at.isoformat())}">'
            f"{esc(fmt.when(self.local_at))}</time> ({esc(i.timezone)}) · points in "
            f"<b>{esc(i.currency)}</b> · periods by {esc(i.assumptions.period)}</p></header>"
        )

    def lede(self) -> str:
        i = self.i
        if not i.flows:
            return '<p class="lede">No points have moved yet.</p>'
        n = len(i.flows) - 1
        last = i.flows[n]
        high = i.churn.high
        calls = (
            f" <b>{self.count('churn.high', high)} {plural(high, 'member')} "
            f"{'is' if high == 1 else 'are'} slipping away</b>: "
            f'see <a href="#contact">who to contact</a>.'
            if high
            else ""
        )
        return (
            f'<p class="lede">In <b>{esc(_period(last, i.assumptions.period))}</b> so far: '
            f"{self.count(f'flows[{n}].issued', last.issued)} points issued, "
            f"{self.count(f'flows[{n}].redeemed', last.redeemed)} redeemed, "
            f"{self.count(f'flows[{n}].expired', last.expired)} expired; "
            f"{self.count(f'flows[{n}].earning_members', last.earning_members)} members earned."
            f"{calls}</p>"
        )

    def cards(self) -> str:
        i, t, li, p = self.i, self.i.totals, self.i.liability, self.i.pareto
        breakage = "observed" if li.breakage_observed else "assumed"
        pending = f" · +{self.count('totals.pending', t.pending)} held" if t.pending else ""
        debt = f" · {self.count('totals.debt', t.debt)} owed" if t.debt else ""
        cards = [
            (
                "Members",
                self.count("totals.members", t.members),
                f"{self.count('totals.active_members', t.active_members)} active in the last "
                f"{esc(fmt.days(i.assumptions.active_within))}",
            ),
            (
                "Points outstanding",
                self.count("totals.outstanding", t.outstanding),
                f"spendable now{pending}{debt}",
            ),
            (
                "Liability",
                self.money("liability.amount", li.amount),
                f"at {self.money('liability.point_value', li.point_value)} a point, less "
                f"{self.pct('liability.breakage_rate', li.breakage_rate)} breakage ({breakage})",
            ),
            (
                "Redemption rate",
                self.pct("totals.redemption_rate", t.redemption_rate),
                f"{self.count('totals.redeemed', t.redeemed)} of "
                f"{self.count('totals.issued', t.issued)} points issued",
            ),
            (
                f"Top {fmt.percent(p.top_fraction, 0)} of members",
                self.pct("pareto.top_spend_share", p.top_spend_share),
                f"of all spend · they hold "
                f"{self.pct('pareto.top_points_share', p.top_points_share)} of the points",
            ),
            (
                "Spend at risk",
                self.money("churn.value_at_risk", i.churn.value_at_risk),
                f"over {esc(fmt.days(i.assumptions.horizon))} · "
                f"{self.count('churn.high', i.churn.high)} members slipping away, "
                f"{self.count('churn.lapsed', i.churn.lapsed)} already lapsed",
            ),
        ]
        body = "".join(
            f'<div class="card"><div class="label">{esc(label)}</div>'
            f'<div class="big">{big}</div><div class="sub">{sub}</div></div>'
            for label, big, sub in cards
        )
        return f'<section class="cards" aria-label="Headline figures">{body}</section>'

    def flows(self) -> str:
        i = self.i
        if not i.flows:
            return ""
        period = i.assumptions.period
        labels = [_axis_label(f, period, k == 0) for k, f in enumerate(i.flows)]
        series = [
            svg.Series("issued", "Issued", tuple(float(f.issued) for f in i.flows)),
            svg.Series("redeemed", "Redeemed", tuple(float(f.redeemed) for f in i.flows)),
            svg.Series("expired", "Expired", tuple(float(f.expired) for f in i.flows)),
        ]
        draw = svg.columns if len(i.flows) <= 18 else svg.lines
        chart = draw("flows", "Points issued, redeemed and expired per period", labels, series)
        shown = list(enumerate(i.flows))[-6:]
        rows = "".join(
            f"<tr><th>{esc(_period(f, period))}</th>"
            f'<td class="num">{self.count(f"flows[{k}].issued", f.issued)}</td>'
            f'<td class="num">{self.count(f"flows[{k}].redeemed", f.redeemed)}</td>'
            f'<td class="num">{self.count(f"flows[{k}].expired", f.expired)}</td>'
            f'<td class="num">{self.count(f"flows[{k}].reversed", f.reversed)}</td>'
            f'<td class="num">{self.count(f"flows[{k}].outstanding", f.outstanding)}</td>'
            f'<td class="num">{self.money(f"flows[{k}].liability", f.liability)}</td>'
            f'<td class="num">{self.count(f"flows[{k}].earning_members", f.earning_members)}</td>'
            f'<td class="num">{self.count(f"flows[{k}].upgrades", f.upgrades)} / '
            f"{self.count(f'flows[{k}].downgrades', f.downgrades)}</td></tr>"
            for k, f in reversed(shown)
        )
        table = (
            '<table><thead><tr><th>Period</th><th class="num">Issued</th>'
            '<th class="num">Redeemed</th><th class="num">Expired</th>'
            '<th class="num">Reversed</th><th class="num">Outstanding</th>'
            '<th class="num">Liability</th><th class="num">Members earning</th>'
            f'<th class="num">Tier ups / downs</th></tr></thead><tbody>{rows}</tbody></table>'
        )
        return panel(
            "flows",
            "Issuance and redemption",
            "Points earned against points spent and lost, per period. Redemption that keeps "
            "pace with issuance means members see value in the programme.",
            chart + table,
        )

    def liability_and_pareto(self) -> str:
        i, li, p = self.i, self.i.liability, self.i.pareto
        factor = float(li.point_value * (1 - li.breakage_rate))
        left = ""
        if i.flows:
            labels = [_axis_label(f, i.assumptions.period, k == 0) for k, f in enumerate(i.flows)]
            outstanding = tuple(float(f.outstanding) for f in i.flows)
            left = svg.lines(
                "liability",
                "Outstanding points and liability at the end of each period",
                labels,
                [svg.Series("outstanding", "Outstanding points", outstanding)],
                width=460,
                height=280,
                side_label=lambda tick: self.symbol + svg.short(tick * factor),
                area=True,
            )
        liability = panel(
            "liability",
            "Liability",
            f"Outstanding points (left axis) and what they would cost if redeemed (right "
            f"axis): {self.count('liability.outstanding', li.outstanding)} points × "
            f"{self.money('liability.point_value', li.point_value)} = "
            f"{self.money('liability.gross', li.gross)}, less "
            f"{self.pct('liability.breakage_rate', li.breakage_rate)} expected breakage: "
            f"<b>{self.money('liability.amount', li.amount)}</b>.",
            left,
        )
        curve = [(float(c.fraction), float(c.spend_share), float(c.points_share)) for c in p.curve]
        marker_text = (
            f"top {fmt.percent(p.top_fraction, 0)} → {fmt.percent(p.top_spend_share)} of spend"
        )
        chart = svg.pareto(
            "pareto",
            "Pareto curve: cumulative share of spend and points by member",
            curve,
            (float(p.top_fraction), float(p.top_spend_share)),
            marker_text,
        )
        pareto = panel(
            "pareto",
            "The 80/20",
            f"The {self.count('pareto.top_members', p.top_members)} best customers "
            f"(top {fmt.percent(p.top_fraction, 0)} of {self.count('pareto.members', p.members)} "
            f"by spend) bring {self.pct('pareto.top_spend_share', p.top_spend_share)} of "
            f"spend and hold {self.pct('pareto.top_points_share', p.top_points_share)} of the "
            "outstanding points. The dashed line is a programme where everyone spends alike.",
            chart,
        )
        return f'<div class="grid2">{liability}{pareto}</div>'

    def tiers_and_rules(self) -> str:
        tiers = self.i.tiers
        parts = []
        if tiers.distribution:
            dist = tiers.distribution
            chart = svg.hbars(
                "tiers",
                "Members per tier level",
                [t.title for t in dist],
                [svg.Series("members", "Members", tuple(float(t.members) for t in dist))],
                [f"{t.members:,} ({fmt.percent(t.share, 0)})" for t in dist],
                width=460,
            )
            moves = "".join(
                f"<tr><td>{esc(m.source or 'no level')} → {esc(m.target or 'no level')}</td>"
                f'<td class="{"up" if m.upgrade else "down"}">'
                f"{'▲ up' if m.upgrade else '▼ down'}</td>"
                f'<td class="num">{self.count(f"tiers.moves[{k}].count", m.count)}</td></tr>'
                for k, m in enumerate(tiers.moves[:8])
            )
            table = (
                "<table><thead><tr><th>Move</th><th></th><th class='num'>Members</th></tr>"
                f"</thead><tbody>{moves or '<tr><td colspan=3>No moves yet.</td></tr>'}"
                "</tbody></table>"
            )
            parts.append(
                panel(
                    "tiers",
                    "Tier flow",
                    f"{self.count('tiers.upgrades', tiers.upgrades)} upgrades and "
                    f"{self.count('tiers.downgrades', tiers.downgrades)} downgrades so far.",
                    chart + table,
                )
            )
        parts.append(self.rules())
        return f'<div class="grid2">{"".join(parts)}</div>'

    def rules(self) -> str:
        rows = "".join(
            f'<tr><th class="rule-id">{esc(r.rule)}</th><td>{esc(r.description)}</td>'
            f'<td class="num">{self.count(f"rules[{k}].issued", r.issued)}</td>'
            f'<td class="num">{self.pct(f"rules[{k}].share", r.share)}</td>'
            f'<td class="num">{self.count(f"rules[{k}].reversed", r.reversed)}</td>'
            f'<td class="num">{self.money(f"rules[{k}].cost", r.cost)}</td></tr>'
            for k, r in enumerate(self.i.rules)
        )
        table = (
            '<table><thead><tr><th>Rule</th><th>What it gives</th><th class="num">Points</th>'
            '<th class="num">Share</th><th class="num">Refunded</th><th class="num">Cost</th>'
            f"</tr></thead><tbody>{rows}</tbody></table>"
        )
        return panel(
            "rules",
            "What each rule costs",
            "Points issued by each rule, promotion and tier bonus, less refunds, at the "
            "point value.",
            table,
        )

    def footer(self) -> str:
        a, li, churn = self.i.assumptions, self.i.liability, self.i.churn
        cadence = churn.typical_cadence
        breakage = "observed: expired ÷ (redeemed + expired)" if li.breakage_observed else "assumed"
        items = [
            f"Point value {self.money('assumptions.point_value', a.point_value)}; breakage "
            f"{self.pct('liability.breakage_rate', li.breakage_rate)} ({breakage}).",
            f"Churn risk: 1 − P(still active) when visits come at the member's usual pace, "
            f"with a prior of {self.pct('assumptions.prior_active', a.prior_active)} active; "
            f"the usual interval is shrunk towards the typical one "
            f"({figure('churn.typical_cadence', cadence, fmt.days(cadence))}, median of "
            f"{self.count('churn.typical_from', churn.typical_from)} members with two visits "
            "or more). A ranking aid, not a forecast: seasonality and changes of rhythm are "
            "not modelled.",
            f"Lifetime value: margin {esc(a.margin)} × (spend + spend over the next "
            f"{esc(fmt.days(a.horizon))} at the member's pace × P(still active)).",
            "RFM: scores 1–5 by quintile; segments as in the table above.",
            f"Generated by rewardkit for {esc(self.i.program)}; figures at "
            f"{esc(self.i.at.isoformat())}.",
        ]
        body = "".join(f"<li>{item}</li>" for item in items)
        return f"<footer><h2>How these figures are made</h2><ul>{body}</ul></footer>"

    def html(self) -> str:
        body = "\n".join(
            [
                self.header(),
                self.lede(),
                self.cards(),
                self.flows(),
                self.liability_and_pareto(),
                self.contact(),
                self.segments(),
                self.tiers_and_rules(),
                self.valuable(),
                self.footer(),
            ]
        )
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<meta name="generator" content="rewardkit">'
            f"<title>{esc(self.title)}</title><style>{CSS}</style></head>\n"
            f"<body><main>\n{body}\n</main></body></html>\n"
        )


def _period(flow: PeriodFlow, period: str) -> str:
    if period == "month":
        return f"{flow.start:%B %Y}"
    if period == "week":
        return f"week {flow.key[-2:]} of {flow.key[:4]} (from {flow.start.day} {flow.start:%b})"
    return f"{flow.start:%a} {flow.start.day} {flow.start:%b %Y}"


def _axis_label(flow: PeriodFlow, period: str, first: bool) -> str:
    start: datetime = flow.start
    if period == "month":
        return f"{start:%b %Y}" if first or start.month == 1 else f"{start:%b}"
    if period == "week":
        return flow.key[-3:]
    return f"{start.day} {start:%b}"


def render(insights: Insights, *, currency_symbol: str = "", title: str | None = None) -> str:
    return _Page(insights, currency_symbol, title).html()
