"""Hand-written SVG bar charts, drawn on the server: no JavaScript, nothing from a CDN.

Every text that goes into the SVG (labels, titles, tooltips) is escaped here, so a chart can
be placed in a page as markup. Colours are presentation attributes (no ``style``), so a
strict Content-Security-Policy does not get in the way.
"""

from html import escape

from .text import number

FONT = "'Noto Sans', 'Segoe UI', 'DejaVu Sans', Arial, sans-serif"
INK, MUTED, GRID = "#1f2933", "#52606d", "#d9e2ec"
COLORS = {
    "primary": "#2f6690", "good": "#2e7d32", "warn": "#ef8a17", "bad": "#c0392b",
    "muted": "#9aa5b1", "accent": "#6a4c93",
}


def _e(text):
    return escape("" if text is None else str(text), quote=True)


def _short(text, limit):
    text = "" if text is None else str(text)
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def _value_text(value, unit=""):
    if value is None:
        return "—"
    return number(round(value, 1), 0 if float(value).is_integer() else 1) + unit


HEAD = 30  # the visible title line at the top of every chart


def _open(width, height, title, description):
    return [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" role="img" aria-label="{_e(title)}" '
            f'font-family="{FONT}" font-size="13" class="chart">',
            f"<title>{_e(title)}</title>", f"<desc>{_e(description)}</desc>",
            f'<text x="0" y="17" font-size="15" font-weight="bold" fill="{INK}" '
            f'class="chart-title">{_e(title)}</text>']


def bar_chart(rows, title, max_value=None, unit="", color=COLORS["primary"], width=640,
              label_width=210, ticks=None, empty="Không có dữ liệu"):
    """Horizontal bars: ``rows`` = [(label, value, tooltip?)]; a value may be None. Labels
    longer than the label column are shortened (the full text is in the tooltip)."""
    row_height, top, bottom = 26, HEAD + 6, 26
    label_chars = int(label_width / 7.4)
    if not rows:
        return _empty(title, width, empty)
    values = [r[1] for r in rows if r[1] is not None]
    top_value = max_value or max(values + [1])
    plot = width - label_width - 64
    height = top + row_height * len(rows) + bottom
    parts = _open(width, height, title, "; ".join(
        f"{r[0]}: {_value_text(r[1], unit)}" for r in rows))
    for tick in ticks or _ticks(top_value):
        x = label_width + plot * tick / top_value
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" '
                     f'y2="{height - bottom + 4}" stroke="{GRID}" stroke-width="1"/>')
        parts.append(f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle" '
                     f'fill="{MUTED}" font-size="11">{_e(_value_text(tick))}</text>')
    for index, row in enumerate(rows):
        label, value = row[0], row[1]
        tooltip = row[2] if len(row) > 2 and row[2] else f"{label}: {_value_text(value, unit)}"
        y = top + index * row_height
        parts.append(f'<g class="bar"><title>{_e(tooltip)}</title>')
        parts.append(f'<text x="{label_width - 8}" y="{y + 17}" text-anchor="end" '
                     f'fill="{INK}">{_e(_short(label, label_chars))}</text>')
        length = 0 if value is None else plot * max(0.0, min(value, top_value)) / top_value
        parts.append(f'<rect x="{label_width}" y="{y + 5}" width="{length:.1f}" height="16" '
                     f'rx="2" fill="{color}" data-value="{_e(value)}"/>')
        parts.append(f'<text x="{label_width + length + 6:.1f}" y="{y + 17}" fill="{INK}">'
                     f'{_e(_value_text(value, unit))}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def stacked_bar_chart(categories, series, values, title, width=640, label_width=210,
                      empty="Không có dữ liệu"):
    """Horizontal stacked bars. ``series`` = [(key, label, colour)], ``values`` =
    {category: {key: count}}; a legend on top, the total at the end of each bar."""
    if not categories:
        return _empty(title, width, empty)
    row_height, legend, bottom = 26, HEAD + 30, 26
    label_chars = int(label_width / 7.4)
    totals = {c: sum(values.get(c, {}).get(key, 0) or 0 for key, _l, _c in series)
              for c in categories}
    top_value = max(list(totals.values()) + [1])
    plot = width - label_width - 50
    height = legend + row_height * len(categories) + bottom
    parts = _open(width, height, title, "; ".join(
        f"{c}: " + ", ".join(f"{label} {values.get(c, {}).get(key, 0)}"
                             for key, label, _ in series) for c in categories))
    x = 0
    for key, label, colour in series:
        parts.append(f'<rect x="{x}" y="{HEAD + 4}" width="12" height="12" fill="{colour}"/>'
                     f'<text x="{x + 17}" y="{HEAD + 14}" fill="{INK}" font-size="12">'
                     f'{_e(label)}</text>')
        x += 30 + 7 * len(label)
    for tick in _ticks(top_value):
        tx = label_width + plot * tick / top_value
        parts.append(f'<line x1="{tx:.1f}" y1="{legend}" x2="{tx:.1f}" '
                     f'y2="{height - bottom + 4}" stroke="{GRID}" stroke-width="1"/>'
                     f'<text x="{tx:.1f}" y="{height - 8}" text-anchor="middle" fill="{MUTED}" '
                     f'font-size="11">{_e(_value_text(tick))}</text>')
    for index, category in enumerate(categories):
        y = legend + index * row_height
        parts.append(f'<g class="bar"><title>{_e(category)}: ' + _e(", ".join(
            f"{label} {values.get(category, {}).get(key, 0)}" for key, label, _ in series))
            + "</title>")
        parts.append(f'<text x="{label_width - 8}" y="{y + 17}" text-anchor="end" '
                     f'fill="{INK}">{_e(_short(category, label_chars))}</text>')
        start = label_width
        for key, label, colour in series:
            count = values.get(category, {}).get(key, 0) or 0
            if not count:
                continue
            length = plot * count / top_value
            parts.append(f'<rect x="{start:.1f}" y="{y + 5}" width="{length:.1f}" height="16" '
                         f'fill="{colour}" data-series="{_e(key)}" data-value="{count}"/>')
            start += length
        parts.append(f'<text x="{start + 6:.1f}" y="{y + 17}" fill="{INK}">'
                     f'{_e(_value_text(totals[category]))}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def _ticks(top_value):
    if top_value <= 0:
        return [0]
    if top_value == 100:
        return [0, 25, 50, 75, 100]
    step = max(1, round(top_value / 4))
    return list(range(0, int(top_value) + 1, step))


def _empty(title, width, message):
    return "".join(_open(width, HEAD + 50, title, message) + [
        f'<text x="{width / 2}" y="{HEAD + 28}" text-anchor="middle" fill="{MUTED}">'
        f'{_e(message)}</text>', "</svg>"])
