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
from test_render import summarize, tricky_catalog, tricky_page

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
    atomic_write_text(html_path, render_html(page, tricky_catalog(page), visible_rows=3, visible_columns=6))
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
