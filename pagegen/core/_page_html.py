"""A compact HTML view of a Page for notebooks (``Page._repr_html_``).

One table: a line per row with its title, kind and first titles (score in small print, the
reason as a tooltip). The full preview with the visible window and genres is
``pagegen.render_html``, a whole document with its own styles, one floor up in the service; this
view is a fragment that leaves the notebook's styles alone. Every text from the page goes
through ``html.escape`` once.
"""

from __future__ import annotations

import datetime as _dt
import html
from typing import Any

__all__ = ["SHOWN", "page_html"]

#: Titles shown per row; the rest are counted.
SHOWN = 8
_CELL = "padding:2px 8px;text-align:left;vertical-align:top;border-top:1px solid #8884"


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def page_html(page: Any, shown: int = SHOWN) -> str:
    """A ``Page`` as an HTML fragment: a header line and one table line per row. (The page model
    imports this module, so the Page type is not imported back, even for type checking.)"""
    when = _dt.datetime.fromtimestamp(page.now, tz=_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    member = "(anonymous)" if page.user is None else page.user
    n_tiles = sum(len(row.slots) for row in page.rows)
    head = (
        f"<div><b>Page</b> for member <code>{_esc(member)}</code>: {len(page.rows)} rows, {n_tiles} tiles; "
        f"policy {_esc(page.policy)}, device {_esc(page.device)}, selector {_esc(page.selector)}, {when}</div>"
    )
    lines = []
    for r, row in enumerate(page.rows):
        tiles = [
            f'<span title="{_esc(slot.reason or "")}">{_esc(slot.title)} <small style="opacity:.6">{slot.score:.3g}</small></span>'
            for slot in row.slots[:shown]
        ]
        more = len(row.slots) - shown
        if more > 0:
            tiles.append(f"<small>+{more} more</small>")
        lines.append(
            f'<tr><td style="{_CELL}">{r}</td><td style="{_CELL}"><b>{_esc(row.title)}</b><br><small>{_esc(row.kind)}</small></td>'
            f'<td style="{_CELL}">{" · ".join(tiles)}</td></tr>'
        )
    header = f'<tr><th style="{_CELL}">#</th><th style="{_CELL}">row</th><th style="{_CELL}">titles (score)</th></tr>'
    return f'<div class="pagegen-page">{head}<table style="border-collapse:collapse">{header}{"".join(lines)}</table></div>'
