"""The report's stylesheet: system fonts only, light on screen, clean on paper."""

from __future__ import annotations

__all__ = ["CSS"]

CSS = """
:root { --ink: #1f2430; --muted: #5b6272; --line: #e3e6ea; --bg: #f4f5f7;
  --accent: #2e7d6b; --warn: #b5485d; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue",
  "Liberation Sans", "DejaVu Sans", Arial, sans-serif; }
main { max-width: 1160px; margin: 0 auto; padding: 26px 28px 36px; }
header .kicker { margin: 0; color: var(--accent); font-weight: 600; font-size: 12px;
  letter-spacing: .08em; text-transform: uppercase; }
header h1 { margin: 2px 0 2px; font-size: 28px; line-height: 1.2; }
header .meta { margin: 0; color: var(--muted); }
.lede { font-size: 16px; margin: 14px 0 16px; max-width: 70em; }
.lede a { color: var(--warn); }
.cards { display: grid; grid-template-columns: repeat(3, 1fr); gap: 12px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 10px;
  padding: 12px 16px 14px; }
.card .label { color: var(--muted); font-size: 12px; font-weight: 600;
  letter-spacing: .04em; text-transform: uppercase; }
.card .big { font-size: 30px; font-weight: 700; line-height: 1.25;
  font-variant-numeric: tabular-nums; }
.card .sub { color: var(--muted); font-size: 12.5px; }
.panel { background: #fff; border: 1px solid var(--line); border-radius: 10px;
  padding: 14px 18px 16px; margin-top: 14px; }
.grid2 > .panel { margin-top: 0; }
.panel h2 { margin: 0 0 2px; font-size: 17px; }
.panel .intro { margin: 0 0 8px; color: var(--muted); }
.grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 14px; margin-top: 14px;
  align-items: start; }
.split { display: grid; grid-template-columns: 2fr 3fr; gap: 18px; align-items: start; }
small { font-size: 11px; font-weight: 400; }
small.rule { color: var(--muted); }
svg.chart { display: block; max-width: 100%; height: auto; margin: 4px 0 8px; }
svg.chart text { font-size: 11px; font-family: inherit; }
table { border-collapse: collapse; width: 100%; font-size: 12.5px; }
th, td { padding: 5px 7px; border-bottom: 1px solid var(--line); text-align: left;
  vertical-align: top; }
thead th { color: var(--muted); font-weight: 600; font-size: 11.5px;
  border-bottom: 1px solid #cfd3d9; }
tbody th { font-weight: 600; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.nowrap { white-space: nowrap; }
.member, .rule-id { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace;
  font-size: 12px; white-space: nowrap; }
.bar { display: inline-block; height: 8px; border-radius: 4px; background: var(--warn);
  vertical-align: middle; }
.dot { display: inline-block; width: 9px; height: 9px; border-radius: 50%;
  margin-right: 6px; }
.up { color: var(--accent); white-space: nowrap; }
.down { color: var(--warn); white-space: nowrap; }
table.contact td, table.contact th { padding-top: 7px; padding-bottom: 7px; }
footer { margin-top: 18px; color: var(--muted); font-size: 12px; }
footer h2 { font-size: 13px; margin: 0 0 4px; color: var(--ink); }
footer ul { margin: 0; padding-left: 18px; }
@media screen and (max-width: 860px) {
  .cards { grid-template-columns: 1fr 1fr; }
  .grid2, .split { grid-template-columns: 1fr; }
}
@media print {
  @page { size: A4; margin: 10mm; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  body { background: #fff; font-size: 10px; }
  main { max-width: none; padding: 0; }
  header h1 { font-size: 22px; }
  .lede { font-size: 12px; }
  .card .big { font-size: 22px; }
  .card, .panel { border-color: #c8ccd2; }
  .panel { padding: 8px 10px; margin-top: 8px; }
  .grid2 { margin-top: 8px; gap: 8px; }
  table { font-size: 9.5px; }
  th, td { padding: 3px 5px; }
  .card, tr, svg.chart, .panel { break-inside: avoid; }
  #flows, #contact { break-inside: auto; }  /* long: let them run over a page */
  .lede a { color: inherit; text-decoration: none; }
}
"""
