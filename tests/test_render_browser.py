"""The HTML preview in a real browser: headless Chromium loads the file, we read back its DOM.

Skips when no Chromium is installed, except under CI=true, where CI installs it and a missing
browser is a failure.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess

import pytest
from test_render import summarize, tricky_page

from pagegen.core._atomic import atomic_write_text
from pagegen.serve._render import render_html

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
)


def chromium() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    reason = f"no Chromium binary found (looked for {', '.join(BROWSERS)}); install Debian's chromium package"
    if os.environ.get("CI") == "true":
        pytest.fail(reason + " (CI=true: the CI script installs it)")
    pytest.skip(reason)


def run_browser(binary: str, profile, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [binary, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def png_size(path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    return struct.unpack(">II", head[16:24])


def test_chromium_renders_rows_tiles_and_escaped_text(tmp_path):
    binary = chromium()
    page = tricky_page(n_rows=5, per_row=9)
    html_path = tmp_path / "page.html"
    atomic_write_text(html_path, render_html(page, visible_rows=3, visible_columns=6))
    url = html_path.as_uri()

    done = run_browser(binary, tmp_path / "profile-dom", "--dump-dom", url)
    assert done.returncode == 0, done.stderr[-2000:]
    dom = summarize(done.stdout)  # the DOM as the browser built it, serialized back
    assert dom.scripts == 0, "a title was parsed as a script element"
    assert len(dom.rows) == 5
    assert len(dom.tiles) == 45
    assert dom.h2 == [row.title for row in page.rows]
    assert dom.h3 == [s.title for row in page.rows for s in row.slots]
    assert sum(t["data-visible"] == "1" for t in dom.tiles) == 3 * 6

    shot = tmp_path / "page.png"
    done = run_browser(binary, tmp_path / "profile-shot", f"--screenshot={shot}", "--window-size=1280,900", url)
    assert shot.is_file(), done.stderr[-2000:]
    assert png_size(shot) == (1280, 900)
    assert shot.stat().st_size > 10_000  # a rendered page, not a blank image


# the measuring script the test adds to a copy of the page (the preview itself has no script and a
# policy that forbids them): it writes what the browser laid out into attributes of <html>
_MEASURE = """<script>
addEventListener('load', () => {
  const root = document.documentElement, vw = root.clientWidth;
  const edges = [...document.querySelectorAll('section.row[data-visible="1"] .edge')].map(e => e.getBoundingClientRect());
  const header = document.querySelector('header .meta');
  const lines = header ? Math.round(header.getBoundingClientRect().height / parseFloat(getComputedStyle(header).lineHeight || 16)) : 0;
  root.dataset.overflow = String(root.scrollWidth - vw);
  root.dataset.markers = String(edges.length);
  root.dataset.markersInView = String(edges.filter(r => r.right <= vw && r.left >= 0).length);
  root.dataset.headerLines = String(lines);
});
</script>"""


def _measured(binary, tmp_path, html_text: str, width: int) -> dict[str, int]:
    import re

    probe = tmp_path / f"probe-{width}.html"
    text = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html_text).replace("</body>", _MEASURE + "</body>")
    atomic_write_text(probe, text)
    done = run_browser(binary, tmp_path / f"profile-{width}", "--virtual-time-budget=3000", f"--window-size={width},900", "--dump-dom", probe.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    head = re.search(r"<html[^>]*>", done.stdout).group(0)
    return {k: int(v) for k, v in re.findall(r'data-([a-z-]+)="(-?\d+)"', head)}


@pytest.mark.parametrize(("device", "columns"), [("web", 6), ("mobile", 3), ("tv", 5)])
def test_the_preview_fits_phones_and_wide_screens(tmp_path, device, columns):
    """At 390 px and 1,400 px: no horizontal overflow of the page, the visible window's marker in
    view on every row of the first screen, the header on one or two lines; screenshots taken."""
    binary = chromium()
    page = tricky_page(n_rows=5, per_row=12).model_copy(update={"device": device})
    html_text = render_html(page, visible_rows=3, visible_columns=columns)
    for width in (390, 1400, 1920):
        seen = _measured(binary, tmp_path, html_text, width)
        assert seen["overflow"] <= 0, f"{width} px: the page is {seen['overflow']} px wider than the screen"
        assert seen["markers"] == 3 and seen["markers-in-view"] == 3, f"{width} px: {seen}"
        assert 1 <= seen["header-lines"] <= 2, f"{width} px: header on {seen['header-lines']} lines"
        shot = tmp_path / f"preview-{device}-{width}.png"
        atomic_write_text(tmp_path / "page.html", html_text)
        run_browser(binary, tmp_path / f"profile-shot-{width}", f"--screenshot={shot}", f"--window-size={width},900", (tmp_path / "page.html").as_uri())
        assert shot.is_file() and png_size(shot) == (width, 900)


def test_the_evaluation_report_fits_a_phone(tmp_path):
    """The replay's HTML report at 390 and 1,400 px: no horizontal overflow of the page (wide tables
    scroll in their own box), one colour key for the heatmaps, a glossary; screenshots taken."""
    from pagegen import synthetic_world
    from pagegen.evaluate._replay import evaluate
    from pagegen.evaluate._report import html_report

    binary = chromium()
    report = html_report(evaluate(synthetic_world("tiny"), ("row_ranking", "stage_wise"), sample=30))
    assert report.count("hits per cell") == 1 and "Glossary" in report and 'name="viewport"' in report
    for width in (390, 1400):
        seen = _measured(binary, tmp_path, report, width)
        assert seen["overflow"] <= 0, f"{width} px: the report is {seen['overflow']} px wider than the screen"
        shot = tmp_path / f"report-{width}.png"
        atomic_write_text(tmp_path / "report.html", report)
        run_browser(binary, tmp_path / f"profile-report-{width}", f"--screenshot={shot}", f"--window-size={width},1200", (tmp_path / "report.html").as_uri())
        assert shot.is_file() and png_size(shot) == (width, 1200)
