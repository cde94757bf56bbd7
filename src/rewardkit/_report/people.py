"""The sections about people: segments, who to contact, the most valuable members."""

from __future__ import annotations

from ..analytics import SEGMENT_RULES, ChurnRisk, Segment
from . import fmt, svg
from .figures import Figures, figure, panel, plural
from .fmt import esc

__all__ = ["People"]

_SEGMENT_COLORS = {
    Segment.CHAMPIONS: "#1b7f5f",
    Segment.LOYAL: "#4f9a3a",
    Segment.POTENTIAL: "#6c6fc0",
    Segment.NEW: "#c9a227",
    Segment.AT_RISK: "#d3642b",
    Segment.HIBERNATING: "#9a7b55",
    Segment.LOST: "#9aa0a8",
}


class People(Figures):
    """Segments, the contact list and the most valuable members."""

    def segments(self) -> str:
        rfm = self.i.rfm
        if rfm.model is None:
            return panel("segments", "Segments", "No member has visited yet.", "")
        summaries = rfm.segments
        labels = [s.segment.label for s in summaries]
        chart = svg.hbars(
            "segments",
            "RFM segments: share of members and share of spend",
            labels,
            [
                svg.Series("members", "Members", tuple(float(s.member_share) for s in summaries)),
                svg.Series("spend", "Spend", tuple(float(s.spend_share) for s in summaries)),
            ],
            [
                f"{fmt.percent(s.member_share, 0)} · {fmt.percent(s.spend_share, 0)}"
                for s in summaries
            ],
            width=430,
        )
        rules = {segment: (rule, action) for segment, rule, action in SEGMENT_RULES}
        rows = "".join(
            f'<tr><th><i class="dot" style="background:{_SEGMENT_COLORS[s.segment]}"></i>'
            f'{esc(s.segment.label)}<br><small class="rule">{esc(rules[s.segment][0])}</small></th>'
            f'<td class="num">{self.count(f"rfm.segments[{k}].members", s.members)}<br><small>'
            f"{self.pct(f'rfm.segments[{k}].member_share', s.member_share)}</small></td>"
            f'<td class="num">{self.pct(f"rfm.segments[{k}].spend_share", s.spend_share)}</td>'
            f'<td class="num">{self.count(f"rfm.segments[{k}].points", s.points)}</td>'
            f"<td>{esc(rules[s.segment][1])}</td></tr>"
            for k, s in enumerate(summaries)
        )
        table = (
            '<table class="segments"><thead><tr><th>Segment <small>(R, F, M scores)</small></th>'
            '<th class="num">Members</th><th class="num">Spend</th>'
            '<th class="num">Points held</th><th>What to do</th></tr>'
            f"</thead><tbody>{rows}</tbody></table>"
        )
        unscored = (
            f" {self.count('rfm.unscored', rfm.unscored)} members without a visit are not scored."
            if rfm.unscored
            else ""
        )
        return panel(
            "segments",
            "Who your members are",
            "Recency, frequency and monetary value scored 1–5 by quintile of "
            f"{self.count('rfm.model.members', rfm.model.members)} members, then named." + unscored,
            f'<div class="split"><div>{chart}</div><div>{table}</div></div>',
        )

    def contact(self) -> str:
        churn = self.i.churn
        rows = "".join(self._contact_row(k, c) for k, c in enumerate(churn.contact))
        cadence = churn.typical_cadence
        typical = figure("churn.typical_cadence", cadence, fmt.days(cadence))
        if not rows:
            rows = '<tr><td colspan="6">Nobody is slipping away. A quiet week.</td></tr>'
        table = (
            '<table class="contact"><thead><tr><th>Member</th><th>Risk</th>'
            '<th class="num">Spend at risk</th><th class="num">Points</th><th>Why</th>'
            f"<th>Suggested move</th></tr></thead><tbody>{rows}</tbody></table>"
        )
        return panel(
            "contact",
            "Who to contact this week",
            "Members whose silence is long for their own rhythm, most spend at risk first. "
            "Risk compares the time since their last visit with their usual interval "
            f"(typical member: every {typical}).",
            table,
        )

    def _contact_row(self, k: int, c: ChurnRisk) -> str:
        base = f"churn.contact[{k}]"
        cadence = figure(base + ".cadence", c.cadence, fmt.days(c.cadence))
        visits = self.count(base + ".visits", c.visits)
        if c.own_cadence:
            usual = f"Usually every {cadence} ({visits} visits)"
            rhythm = "their usual rhythm"
        else:
            usual = f"{visits} {plural(c.visits, 'visit')} so far; typical: every {cadence}"
            rhythm = "that"
        why = (
            f"{usual}; silent for {figure(base + '.silent', c.silent, fmt.days(c.silent))}, "
            f"{figure(base + '.overdue', c.overdue, fmt.ratio(c.overdue))} {rhythm}. "
            f"Spent {self.money(base + '.spent', c.spent)}"
            + (f"; {esc(c.segment.label.lower())}" if c.segment else "")
            + (f"; {esc(c.tier)} tier" if c.tier else "")
            + "."
        )
        if c.redeemable:
            move = (
                f"Their points already pay for <b>{esc(c.redeemable)}</b>: invite them to use it."
            )
        elif c.next_reward:
            move = (
                f"{self.count(base + '.points_short', c.points_short)} "
                f"{plural(c.points_short, 'point')} from "
                f"<b>{esc(c.next_reward)}</b>: offer a bonus on their next visit."
            )
        else:
            move = "A personal note and a bonus on their next visit."
        width = float(c.risk) * 60
        return (
            f'<tr><th class="member">{esc(c.member)}</th>'
            f'<td class="nowrap"><span class="bar" style="width:{width:.0f}px"></span> '
            f"{self.pct(base + '.risk', c.risk)}</td>"
            f'<td class="num">{self.money(base + ".value_at_risk", c.value_at_risk)}</td>'
            f'<td class="num">{self.count(base + ".balance", c.balance)}</td>'
            f"<td>{why}</td><td>{move}</td></tr>"
        )

    def valuable(self) -> str:
        life = self.i.lifetime
        rows = "".join(
            f'<tr><th class="member">{esc(m.member)}</th>'
            f'<td class="num">{self.money(f"lifetime.top[{k}].lifetime_value", m.lifetime_value)}'
            "</td>"
            f'<td class="num">{self.money(f"lifetime.top[{k}].spent", m.spent)}</td>'
            f'<td class="num">{self.count(f"lifetime.top[{k}].visits", m.visits)}</td>'
            f"<td>{esc(m.segment.label if m.segment else '')}</td></tr>"
            for k, m in enumerate(life.top)
        )
        table = (
            '<table><thead><tr><th>Member</th><th class="num">Lifetime value</th>'
            '<th class="num">Spent</th><th class="num">Visits</th><th>Segment</th></tr>'
            f"</thead><tbody>{rows}</tbody></table>"
        )
        return panel(
            "value",
            "Most valuable members",
            f"Estimated lifetime value: spend so far plus the next "
            f"{esc(fmt.days(self.i.assumptions.horizon))} at their pace, weighed by the "
            f"chance they are still active. Mean {self.money('lifetime.mean', life.mean)}, "
            f"median {self.money('lifetime.median', life.median)} over "
            f"{self.count('lifetime.members', life.members)} members.",
            table,
        )
