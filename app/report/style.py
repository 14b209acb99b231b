"""The report's stylesheet, inlined so the HTML file stands alone."""

CSS = """
:root { --ink: #111827; --muted: #6b7280; --line: #e5e7eb; --accent: #0f766e;
  --accent-soft: #ccfbf1; --page: #f3f4f6; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--page); color: var(--ink);
  font: 15px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1080px; margin: 0 auto; padding: 40px 28px 56px; }
header { margin-bottom: 24px; }
h1 { font-size: 28px; margin: 4px 0 6px; letter-spacing: -0.01em; }
h2 { font-size: 19px; margin: 0 0 2px; }
h3 { font-size: 14px; margin: 0 0 8px; color: var(--muted); text-transform: uppercase;
  letter-spacing: 0.06em; }
.eyebrow { margin: 0; color: var(--accent); font-weight: 600; font-size: 13px;
  text-transform: uppercase; letter-spacing: 0.08em; }
.muted { color: var(--muted); margin: 0 0 14px; font-size: 14px; }
section { background: #fff; border-radius: 14px; padding: 22px 24px; margin: 0 0 18px;
  box-shadow: 0 1px 2px rgba(0, 0, 0, 0.05), 0 4px 14px rgba(0, 0, 0, 0.04); }
.kpis { display: grid; grid-template-columns: repeat(5, 1fr); gap: 12px; background: none;
  box-shadow: none; padding: 0; }
.kpi { background: #fff; border-radius: 14px; padding: 16px 18px;
  box-shadow: 0 1px 2px rgba(0, 0, 0, 0.05), 0 4px 14px rgba(0, 0, 0, 0.04); }
.kpi span { display: block; color: var(--muted); font-size: 13px; }
.kpi strong { display: block; font-size: 25px; margin: 2px 0; letter-spacing: -0.01em; }
.kpi small { color: var(--muted); font-size: 12px; }
table { width: 100%; border-collapse: collapse; font-size: 14px; }
th { text-align: left; font-weight: 600; color: var(--muted); font-size: 12px;
  text-transform: uppercase; letter-spacing: 0.05em; border-bottom: 1px solid var(--line);
  padding: 6px 10px; }
td { border-bottom: 1px solid var(--line); padding: 8px 10px; vertical-align: middle; }
tr:last-child td { border-bottom: none; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
th.num { text-align: right; }
td.rank { color: var(--muted); width: 28px; }
.matrix th { text-transform: none; letter-spacing: 0; font-size: 12px; }
.matrix td { font-size: 13px; }
td.name { font-weight: 600; }
td.strong { text-align: right; font-weight: 700; color: var(--accent); }
code { color: var(--muted); font-size: 12px; background: var(--page); padding: 1px 5px;
  border-radius: 4px; }
.product { font-weight: 500; }
td.bar { position: relative; width: 34%; }
td.bar i { display: block; height: 8px; border-radius: 4px; background: var(--accent);
  opacity: 0.8; }
td.bar span { font-size: 12px; color: var(--muted); }
.facts { display: flex; gap: 14px; margin: 4px 0 18px; }
.fact { flex: 1; background: var(--accent-soft); border-radius: 12px; padding: 12px 16px; }
.fact strong { display: block; font-size: 24px; color: var(--accent); }
.fact span { font-size: 13px; color: #134e4a; }
.split { display: grid; grid-template-columns: minmax(0, 1.25fr) minmax(0, 1fr); gap: 24px;
  align-items: start; }
h3.gap { margin-top: 22px; }
.heatmap { width: 100%; height: auto; border-radius: 10px; border: 1px solid var(--line); }
.empty { color: var(--muted); font-style: italic; }
footer { font-size: 12px; padding: 0 6px; }
"""
