"""Human views of a Page: a self-contained HTML preview and a plain-text view.

Both mark the visible window: the first ``visible_rows`` rows and, in every row, the first
``visible_columns`` tiles are what the device shows without scrolling. Every piece of text
that comes from the page goes through ``html.escape`` (HTML) exactly once;
the HTML file has no external assets and no scripts.

A row reads as a phrase (``pagegen.core._explain``: "Because you like Sci-Fi (21% of what you
watch)"), and dates as dates: the raw evidence (keys, scores, epoch seconds) stays in the JSON.
"""

from __future__ import annotations

import datetime as _dt
import html
import zlib
from typing import Any

from pagegen.core._explain import explain, human_date

__all__ = ["render_html", "render_text"]

_CSS = """
*{box-sizing:border-box}
:root{--pad:48px;--gap:8px;--edge:3px}
body{margin:0;background:#141414;color:#e5e5e5;font:14px/1.35 "Helvetica Neue",Helvetica,Arial,"Noto Sans",sans-serif}
header{display:flex;flex-wrap:wrap;align-items:baseline;column-gap:20px;row-gap:2px;padding:16px var(--pad) 10px;background:linear-gradient(#000c,#14141400)}
header .logo{color:#e50914;font-weight:800;font-size:28px;letter-spacing:1px}
header .meta{color:#b3b3b3;font-size:13px}
header .meta b{color:#fff;font-weight:600}
main{padding:0 0 40px}
section.row{padding:6px var(--pad) 10px}
section.row h2{margin:0 0 2px;font-size:19px;font-weight:700;color:#fff}
section.row .why{margin:0 0 8px;color:#8c8c8c;font-size:12px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
section.row .kind{display:inline-block;margin-left:10px;padding:1px 6px;border:1px solid #555;border-radius:3px;font-size:11px;font-weight:400;color:#aaa;vertical-align:middle}
.track{display:flex;gap:var(--gap);overflow-x:auto;padding-bottom:6px}
/* the visible window's tiles fill the screen's width: the window marker stays in view from phones to wide screens */
.tile{--w:clamp(52px,calc((100vw - 2 * var(--pad) - var(--edge) - var(--cols) * var(--gap)) / var(--cols)),220px);position:relative;flex:0 0 var(--w);aspect-ratio:6/5;border-radius:5px;padding:clamp(4px,calc(var(--w) / 18),10px);display:flex;flex-direction:column;justify-content:flex-end;overflow:hidden;box-shadow:0 2px 6px #0008}
.tile .rank{position:absolute;top:4px;left:6px;font-size:11px;color:#fffa}
.tile .score{position:absolute;top:4px;right:6px;font-size:11px;background:#0009;padding:1px 5px;border-radius:3px}
.tile h3{margin:0;font-size:clamp(10px,calc(var(--w) / 12),15px);line-height:1.15;color:#fff;text-shadow:0 1px 3px #000;overflow-wrap:anywhere;display:-webkit-box;-webkit-line-clamp:3;-webkit-box-orient:vertical;overflow:hidden}
.tile .genres{font-size:11px;color:#ddd;margin-top:3px}
.tile .reason{font-size:11px;color:#46d369;margin-top:3px}
.tile.offscreen{opacity:.45;filter:grayscale(.6)}
.edge{flex:0 0 var(--edge);align-self:stretch;background:repeating-linear-gradient(#e50914 0 6px,transparent 6px 10px);border-radius:2px}
section.row.below h2{color:#bbb}
.fold{margin:10px var(--pad);border-top:2px dashed #e50914;color:#e50914;font-size:12px;padding-top:3px}
.legend{padding:0 var(--pad) 12px;color:#8c8c8c;font-size:12px}
.legend i{display:inline-block;width:10px;height:10px;border:2px dashed #e50914;margin:0 4px -1px 0}
@media (max-width:700px){
 :root{--pad:12px;--gap:5px}
 header .logo{font-size:20px}
 header .meta{font-size:12px}
 section.row h2{font-size:16px}
 section.row .why{font-size:11px}
 .tile .score,.tile .genres,.tile .rank{display:none}
 .tile .reason{font-size:10px}
}
"""


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _when(now: int) -> str:
    return f"{human_date(now)}, {_dt.datetime.fromtimestamp(int(now), tz=_dt.UTC):%H:%M} UTC"


def _why(row: Any) -> str | None:
    """The row's phrase (None for a kind without one: its raw evidence is not shown)."""
    return explain(row.kind, row.title, row.evidence)[0]


def _tile_colors(item_id: str) -> tuple[int, int]:
    hue = zlib.crc32(item_id.encode("utf-8")) % 360
    return hue, (hue + 40) % 360


def render_html(
    page: Any,
    *,
    visible_rows: int | None = None,
    visible_columns: int | None = None,
) -> str:
    """The page as one self-contained HTML document (inline CSS, no scripts, no external assets).

    ``page`` is a ``Page`` (each tile shows the genres the page carries). ``visible_rows`` /
    ``visible_columns`` give the first screen of the page's device; None: everything visible.
    """
    n_rows = len(page.rows)
    vis_rows = n_rows if visible_rows is None else max(0, int(visible_rows))
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>pagegen \u00b7 {_esc(page.user if page.user is not None else 'anonymous')}</title>",
        f"<style>{_CSS}</style></head>",
        f'<body data-user="{_esc(page.user or "")}" data-policy="{_esc(page.policy)}" data-selector="{_esc(page.selector)}" data-device="{_esc(page.device)}"'
        f' style="--cols:{max(1, min(visible_columns if visible_columns is not None else 6, 12))}">',
        '<header><span class="logo">pagegen</span><span class="meta">',
        f"<b>{_esc(page.user if page.user is not None else 'anonymous')}</b> \u00b7 <b>{_esc(page.policy)}</b> policy"
        f" \u00b7 <b>{_esc(page.selector)}</b> \u00b7 <b>{_esc(page.device)}</b> \u00b7 {_esc(_when(page.now))}",
        "</span></header>",
    ]
    if visible_rows is not None or visible_columns is not None:
        window = f"{vis_rows} rows" if visible_rows is not None else "all rows"
        window += f" \u00d7 {visible_columns} tiles" if visible_columns is not None else " \u00d7 all tiles"
        parts.append(f'<div class="legend"><i></i>visible window on {_esc(page.device)}: {_esc(window)}; dimmed tiles need scrolling \u00b7 seed {_esc(page.seed)} \u00b7 page format v{_esc(page.version)}</div>')
    parts.append("<main>")
    for r, row in enumerate(page.rows):
        if r == vis_rows and r < n_rows:
            parts.append('<div class="fold">below the fold: the rows under this line need vertical scrolling</div>')
        below = r >= vis_rows
        parts.append(
            f'<section class="row{" below" if below else ""}" data-row-key="{_esc(row.key)}" data-kind="{_esc(row.kind)}"'
            f' data-visible="{0 if below else 1}">'
        )
        parts.append(f'<h2>{_esc(row.title)}<span class="kind">{_esc(row.kind)}</span></h2>')
        why = _why(row)
        if why:
            parts.append(f'<p class="why" title="{_esc(why)}">{_esc(why)}</p>')
        parts.append('<div class="track">')
        for c, slot in enumerate(row.slots):
            if visible_columns is not None and c == visible_columns:
                parts.append('<div class="edge" title="end of the visible window"></div>')
            off = below or (visible_columns is not None and c >= visible_columns)
            h1, h2 = _tile_colors(str(slot.id))
            parts.append(
                f'<article class="tile{" offscreen" if off else ""}" data-id="{_esc(slot.id)}" data-visible="{0 if off else 1}"'
                f' style="background:linear-gradient(160deg,hsl({h1} 45% 32%),hsl({h2} 55% 14%))">'
            )
            parts.append(f'<span class="rank">{c + 1}</span><span class="score">{slot.score:.3f}</span>')
            parts.append(f"<h3>{_esc(slot.title)}</h3>")
            if slot.genres:
                parts.append('<div class="genres">' + _esc(" \u00b7 ".join(slot.genres)) + "</div>")
            if slot.reason:
                parts.append(f'<div class="reason">{_esc(slot.reason)}</div>')
            parts.append("</article>")
        parts.append("</div></section>")
    parts.append("</main></body></html>\n")
    return "\n".join(parts)


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "\u2026"


def render_text(
    page: Any,
    *,
    visible_rows: int | None = None,
    visible_columns: int | None = None,
    width: int = 24,
    max_tiles: int | None = None,
) -> str:
    """A readable plain-text view: one block per row, ``|`` marks the end of the visible tiles,
    a dashed line the end of the visible rows. ``width`` clips titles; ``max_tiles`` shows at
    most that many tiles per row (None: the visible tiles and two more; all without a window)."""
    if max_tiles is None and visible_columns is not None:
        max_tiles = visible_columns + 2
    who = page.user if page.user is not None else "anonymous"
    lines = [
        f"Homepage of member {who} \u00b7 policy {page.policy} \u00b7 selector {page.selector} \u00b7 device {page.device} \u00b7 as of {_when(page.now)}",
        "",
    ]
    vis_rows = len(page.rows) if visible_rows is None else visible_rows
    for r, row in enumerate(page.rows):
        if r == vis_rows:
            lines.append("- - - - - - - - below the fold (scroll down) - - - - - - - -")
        why = _why(row)
        lines.append(f"{r + 1:>2}. {row.title}   [{row.kind}{'; ' + why if why else ''}]")
        cells = []
        shown = len(row.slots) if max_tiles is None else max_tiles
        # a reason the row's tiles share is said once, after the row; reasons that differ, on each tile
        common = {slot.reason for slot in row.slots}
        for c, slot in enumerate(row.slots[:shown]):
            if visible_columns is not None and c == visible_columns:
                cells.append("|")
            reason = f", {slot.reason}" if slot.reason and len(common) > 1 else ""
            cells.append(f"{_clip(str(slot.title), width)} ({slot.score:.2f}{reason})")
        if len(row.slots) > shown:
            cells.append(f"... +{len(row.slots) - shown} more")
        lines.append("    " + "  ".join(cells) if cells else "    (empty)")
        if len(common) == 1 and row.slots and row.slots[0].reason:
            lines.append(f"    ({row.slots[0].reason})")
    if visible_rows is not None or visible_columns is not None:
        lines.append("")
        lines.append(f"visible window: {vis_rows} rows x {visible_columns if visible_columns is not None else 'all'} tiles ('|' ends the visible tiles)")
    return "\n".join(lines) + "\n"
