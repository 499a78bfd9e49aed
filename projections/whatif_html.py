"""The what-if report as one self-contained HTML page: inline CSS and SVG, no external
script, font or stylesheet (it must open on a machine without internet).

Every number drawn is also in the DOM: each matrix cell is a `g.cell` with
`data-before`, `data-after`, `data-count`; each histogram bar a `rect.bar` with
`data-from`, `data-to`, `data-count` (and a text label). The charts are plain SVG and
need no script; a small inline script only records, once the browser has laid them
out, each drawn bar's height (`data-drawn-height`) and sets `data-charts-drawn` on
<html>, so that a test in a real browser can check what was drawn.
"""

from __future__ import annotations

import math
from html import escape
from typing import Iterable

from projections.whatif import WhatIfReport, mark_text, unscored_words

MAX_DISTINCT_BARS = 41
TARGET_BINS = 30
CHART_HEIGHT = 180
MAX_CHANGES_SHOWN = 500
# When "no change" outnumbers the tallest other bar this many times, it is drawn cut
# (marked, with its count) so that the other bars stay readable.
CLIP_RATIO = 3

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#1d2433;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #dde;padding-bottom:.3rem}
.summary{display:flex;gap:1rem;flex-wrap:wrap}.summary div{background:#f3f5fa;border-radius:6px;padding:.6rem 1rem}
.summary b{display:block;font-size:1.4rem}
table{border-collapse:collapse;font-size:.85rem}td,th{border:1px solid #dde;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f5fa}.num{text-align:right;font-variant-numeric:tabular-nums}
.up{color:#1a7f37}.down{color:#c0392b}.note{color:#667;font-size:.85rem}
svg text{font-size:11px;fill:#1d2433}svg .axis{stroke:#889}
"""

_SCRIPT = """
document.addEventListener('DOMContentLoaded', function () {
  var drawn = 0;
  document.querySelectorAll('rect.bar, g.cell > rect').forEach(function (el) {
    var box = el.getBBox();
    el.setAttribute('data-drawn-height', box.height.toFixed(1));
    el.setAttribute('data-drawn-width', box.width.toFixed(1));
    drawn += 1;
  });
  document.documentElement.setAttribute('data-charts-drawn', String(drawn));
});
"""


def histogram_bins(differences: Iterable[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """(from, to, count) bars, inclusive ranges. One bar per distinct difference when
    there are few; else bins of a round width over the whole range (empty ones too), with
    0 (no change) always its own bar."""
    counts = dict(differences)
    if not counts:
        return []
    if len(counts) <= MAX_DISTINCT_BARS:
        return [(d, d, n) for d, n in sorted(counts.items())]
    width = _round_width((max(counts) - min(counts)) / TARGET_BINS)
    bins = {_bin_of(d, width): 0 for d in range(min(counts), max(counts) + 1)}  # empty bins too
    for d, n in counts.items():
        bins[_bin_of(d, width)] += n
    return [(lo, hi, n) for (lo, hi), n in sorted(bins.items())]


def _bin_of(difference: int, width: int) -> tuple[int, int]:
    if difference == 0:
        return 0, 0
    k = (abs(difference) - 1) // width
    lo, hi = k * width + 1, (k + 1) * width
    return (lo, hi) if difference > 0 else (-hi, -lo)


def _round_width(raw: float) -> int:
    for step in (1, 2, 4, 5, 8, 10, 16, 20, 25, 32, 40, 50, 64, 100, 128, 200, 250, 500):
        if step >= raw:
            return step
    return int(math.ceil(raw / 100) * 100)


def _label(lo: int, hi: int) -> str:
    fmt = lambda v: f"{v:+d}" if v else "0"  # noqa: E731
    return fmt(lo) if lo == hi else f"{fmt(lo)}..{fmt(hi)}"


def histogram_scale(bins: list[tuple[int, int, int]]) -> int:
    """The count drawn at full height: the tallest bar, or the tallest but "no change"
    when that one dwarfs the others (it is then drawn cut)."""
    others = [n for lo, hi, n in bins if not lo == hi == 0]
    unchanged = sum(n for lo, hi, n in bins if lo == hi == 0)
    if others and unchanged > CLIP_RATIO * max(others):
        return max(others)
    return max(n for _, _, n in bins)


def histogram_svg(report: WhatIfReport) -> str:
    bins = histogram_bins((d.difference, d.count) for d in report.score_differences)
    if not bins:
        return '<p class="note">No certification has a result on both sides.</p>'
    scale = histogram_scale(bins)
    bar_w, gap, left, base = 26, 6, 56, CHART_HEIGHT + 30
    width = left + len(bins) * (bar_w + gap) + 10
    parts = [f'<svg id="histogram" role="img" aria-label="histogram of pix-score differences" data-scale="{scale}" '
             f'width="{width}" height="{base + 60}" viewBox="0 0 {width} {base + 60}" xmlns="http://www.w3.org/2000/svg">',
             f'<line class="axis" x1="{left - 4}" y1="{base}" x2="{width - 5}" y2="{base}"/>']
    cut = []
    for i, (lo, hi, n) in enumerate(bins):
        clipped = n > scale
        h = CHART_HEIGHT if clipped else (max(2.0, CHART_HEIGHT * n / scale) if n else 0.0)
        x = left + i * (bar_w + gap)
        colour = "#8a94a6" if lo == hi == 0 else ("#c0392b" if hi < 0 else "#1a7f37")
        label = _label(lo, hi)
        parts.append(
            f'<rect class="bar" x="{x}" y="{base - h:.1f}" width="{bar_w}" height="{h:.1f}" fill="{colour}" '
            f'data-from="{lo}" data-to="{hi}" data-count="{n}" data-label="{escape(label)}"'
            + (' data-clipped="true"' if clipped else "") + '>'
            f'<title>{escape(label)} pix: {n} certification(s)</title></rect>'
            f'<text class="bar-count" x="{x + bar_w / 2}" y="{base - h - 4:.1f}" text-anchor="middle">{n}</text>'
            f'<text x="{x + bar_w / 2}" y="{base + 14}" text-anchor="end" '
            f'transform="rotate(-45 {x + bar_w / 2} {base + 14})">{escape(label)}</text>'
        )
        if clipped:
            y = base - h + 14
            parts.append(f'<polyline class="cut" points="{x - 2},{y} {x + 7},{y - 5} {x + 19},{y + 5} {x + bar_w + 2},{y}" '
                         'fill="none" stroke="#ffffff" stroke-width="4"/>')
            cut.append(f"{label} ({n})")
    parts.append("</svg>")
    if cut:
        parts.append(f'<p class="note">The bar {", ".join(cut)} is cut to keep the others readable; '
                     f'the other heights are to scale (full height = {scale}).</p>')
    return "".join(parts)


def _heat(n: int, top: int, diagonal: bool) -> str:
    if n == 0:
        return "#ffffff"
    t = 0.15 + 0.85 * math.log1p(n) / math.log1p(top)
    r, g, b = (52, 101, 164) if diagonal else (214, 96, 40)
    mix = lambda c: int(255 - (255 - c) * t)  # noqa: E731
    return f"#{mix(r):02x}{mix(g):02x}{mix(b):02x}"


def matrix_svg(report: WhatIfReport) -> str:
    statuses = report.statuses()
    if not statuses:
        return '<p class="note">Nothing compared.</p>'
    matrix = report.status_matrix()
    top = max(t.count for t in report.status_transitions)
    cell, left, head = 84, 110, 60
    size_w, size_h = left + cell * len(statuses) + 10, head + cell * len(statuses) + 10
    parts = [f'<svg id="status-matrix" role="img" aria-label="status changes, before (rows) by after (columns)" '
             f'width="{size_w}" height="{size_h}" viewBox="0 0 {size_w} {size_h}" xmlns="http://www.w3.org/2000/svg">',
             f'<text x="{left + cell * len(statuses) / 2}" y="14" text-anchor="middle" font-weight="bold">after</text>',
             f'<text x="8" y="{head - 8}" font-weight="bold">before</text>']
    for j, status in enumerate(statuses):
        parts.append(f'<text x="{left + j * cell + cell / 2}" y="{head - 8}" text-anchor="middle">{escape(status)}</text>')
    for i, before in enumerate(statuses):
        y = head + i * cell
        parts.append(f'<text x="{left - 8}" y="{y + cell / 2 + 4}" text-anchor="end">{escape(before)}</text>')
        for j, after in enumerate(statuses):
            n = matrix.get(before, {}).get(after, 0)
            x = left + j * cell
            parts.append(
                f'<g class="cell" data-before="{escape(before)}" data-after="{escape(after)}" data-count="{n}">'
                f'<rect x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="{_heat(n, top, before == after)}" '
                f'stroke="#dde"><title>{escape(before)} → {escape(after)}: {n}</title></rect>'
                f'<text class="cell-count" x="{x + cell / 2 - 1}" y="{y + cell / 2 + 4}" text-anchor="middle">{n}</text></g>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _competences_table(report: WhatIfReport) -> str:
    if not report.competence_changes:
        return '<p class="note">No competence level changed.</p>'
    rows = "".join(
        f'<tr data-competence="{escape(c.code)}"><td>{escape(c.code)}</td>'
        f'<td class="num up" data-up="{c.up}">{c.up}</td><td class="num down" data-down="{c.down}">{c.down}</td></tr>'
        for c in report.competence_changes
    )
    return f'<table id="competences"><tr><th>competence</th><th>level up</th><th>level down</th></tr>{rows}</table>'


def _changes_table(report: WhatIfReport) -> str:
    if not report.changes:
        return '<p class="note">No certification changed.</p>'
    rows = []
    for c in report.changes[:MAX_CHANGES_SHOWN]:
        diff = "" if c.pix_difference is None else f"{c.pix_difference:+d}"
        rows.append(
            f'<tr class="change" data-certification="{escape(c.certification_id)}">'
            f'<td>{escape(c.certification_id)}<br><span class="note">{c.started_at:%Y-%m-%d}'
            f'{", published" if c.published else ""}</span></td>'
            f'<td>{escape(c.before.status)} → {escape(c.after.status)}</td>'
            f'<td class="num">{mark_text(c.before.pix_score)} → {mark_text(c.after.pix_score)}'
            f'{f" ({diff})" if diff else ""}</td>'
            f'<td>{"<br>".join(escape(line) for line in c.explanation)}</td></tr>'
        )
    more = len(report.changes) - MAX_CHANGES_SHOWN
    note = f'<p class="note">{more} more in the JSON report (<code>--json</code>).</p>' if more > 0 else ""
    return ('<table id="changes"><tr><th>certification</th><th>status</th><th>pix</th><th>the difference</th></tr>'
            + "".join(rows) + "</table>" + note)


def title_of(report: WhatIfReport) -> str:
    return f"What-if: {report.proposal} against {report.baseline}"


def period_of(report: WhatIfReport) -> str:
    """The period compared, in words. No upper bound is not "now": a certification dated
    in the future is compared too."""
    start = f"from {report.period_from.isoformat()}" if report.period_from else ""
    end = f"up to {report.period_to.isoformat()}" if report.period_to else ""
    return "certifications started " + (" ".join(filter(None, (start, end))) or "at any date")


def _proposal(report: WhatIfReport) -> str:
    if not report.proposal_changes:
        return ""
    head, *changes = report.proposal_changes
    items = "".join(f"<li>{escape(c)}</li>" for c in changes)
    sets = f"; it sets:</p>\n<ul id=\"proposal-changes\" class=\"note\">{items}</ul>\n" if changes else ".</p>\n"
    return f'<p id="proposal" class="note">The proposal {escape(report.proposal)}: {escape(head)}{sets}'


def _warnings(report: WhatIfReport) -> str:
    if not report.warnings:
        return ""
    items = "".join(f"<li>{escape(w)}</li>" for w in report.warnings)
    return f'<ul id="warnings" class="note">{items}</ul>\n'


def _unscored(report: WhatIfReport) -> str:
    words = unscored_words(report) if report.score_differences else None
    return f'\n<p id="unscored" class="note">{escape(words)}.</p>' if words else ""


def render_html(report: WhatIfReport) -> str:
    title = escape(title_of(report))
    under = ", ".join(f"{escape(v)}: {n}" for v, n in report.scored_under.items()) or "none"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_CSS}</style></head>
<body>
<h1 id="title">{title}</h1>
<p class="note">{escape(period_of(report))}; scored under: {under}. Nothing was written to the ledger.</p>
<div class="summary">
<div>compared<b id="compared" data-count="{report.compared}">{report.compared}</b></div>
<div>changed<b id="changed" data-count="{report.changed}">{report.changed}</b></div>
<div>of them published<b id="published-changed" data-count="{report.published_changed}">{report.published_changed}</b></div>
<div>rescored, same outcome<b id="rescored-unchanged" data-count="{report.rescored_unchanged}">{report.rescored_unchanged}</b></div>
</div>
{_proposal(report)}{_warnings(report)}<h2>Status changes</h2>
<p class="note">Rows: status before; columns: status after. The diagonal is unchanged.</p>
{matrix_svg(report)}
<h2>Pix-score differences (after − before)</h2>
{histogram_svg(report)}{_unscored(report)}
<h2>Competence levels</h2>
{_competences_table(report)}
<h2>Certifications that changed</h2>
{_changes_table(report)}
<script>{_SCRIPT}</script>
</body></html>
"""
