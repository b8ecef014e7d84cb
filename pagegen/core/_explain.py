"""Human explanations of the built-in row kinds, read from a row's evidence.

A row's evidence is raw and machine-friendly (``affinity: 0.205755``, epoch seconds); what a
member reads is a phrase: "Because you like Sci-Fi (21% of what you watch)". ``explain`` gives
both texts of a row once, from its kind, title and evidence (JSON values):

- the row's phrase, for the text and HTML views: why the row is on the page;
- its tiles' reason, for the tiles whose ranker gave none ("Trending now"): per row one
  template, so a page's reasons cost one call per row, not per tile.

A kind this module does not know (a custom ranker's) has no phrase and no tile reason: its
ranker passes ``CandidateRow.reasons`` itself.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping
from typing import Any

from ._time import DAY

__all__ = ["Explanation", "explain", "human_date", "share_text"]

#: (the row's phrase, its tiles' reason); either may be None.
Explanation = tuple[str | None, str | None]


def human_date(epoch: int) -> str:
    """Epoch seconds as a date a person reads: "3 Mar 2024" (UTC)."""
    day = _dt.datetime.fromtimestamp(int(epoch), tz=_dt.UTC)
    return f"{day.day} {day:%b %Y}"


def share_text(value: float) -> str:
    """A share in [0, 1] as a rounded percentage: "23%", "under 1%"."""
    pct = round(100 * float(value))
    return "under 1%" if pct < 1 else f"{pct}%"


def _days(seconds: Any) -> str:
    days = int(seconds) // DAY
    return "the last day" if days <= 1 else f"the last {days} days"


def _continue(title: str, ev: Mapping[str, Any]) -> Explanation:
    return "Pick up where you left off", "Continue watching"


def _top_picks(title: str, ev: Mapping[str, Any]) -> Explanation:
    if int(ev.get("history", 1)) <= 0:
        return "Popular titles, until we learn what you like", "Popular on the service"
    return "Chosen for you from everything you watched and rated", "Top pick for you"


def _top10(title: str, ev: Mapping[str, Any]) -> Explanation:
    region = ev.get("region")
    where = f" in {region}" if region else ""
    return f"The most played titles{where} {ev.get('period') or 'of all time'}", f"In the {title}"


def _trending(title: str, ev: Mapping[str, Any]) -> Explanation:
    ordered = ", ordered for your taste" if float(ev.get("alpha") or 0) > 0 else ""
    return f"What members are starting to watch now{ordered}", "Trending now"


def _because(title: str, ev: Mapping[str, Any]) -> Explanation:
    anchor, last = str(ev["anchor_title"]), ev.get("last_played")
    if last is None:
        return f"Titles like {anchor}, which you rated", f"Because you rated {anchor}"
    return f"Titles like {anchor}, which you watched on {human_date(last)}", f"Because you watched {anchor}"


def _genre(title: str, ev: Mapping[str, Any]) -> Explanation:
    affinity, share = float(ev["affinity"]), float(ev["catalog_share"])
    if ev.get("explored"):
        return f"Something different to try: {title} is {share_text(affinity)} of what you watch", f"Something different: {title}"
    if affinity > share:
        return f"Because you like {title} ({share_text(affinity)} of what you watch)", f"Because you like {title}"
    return f"{title}, ordered for you ({share_text(share)} of the catalog)", f"Popular with {title} fans"


def _new_releases(title: str, ev: Mapping[str, Any]) -> Explanation:
    newest = ev.get("newest")
    window = f" in the last {int(ev['window_days'])} days" if ev.get("window_days") else ""
    added = f", the newest added {human_date(newest)}" if isinstance(newest, int) and newest > 0 else ""
    return f"New on the service{window}{added}", "New on the service"


def _popular(title: str, ev: Mapping[str, Any]) -> Explanation:
    window = ev.get("window")
    if window:
        return f"The most played titles in {_days(window)}", "Popular right now"
    return "The most played titles on the service", "Popular on the service"


_KINDS: dict[str, Callable[[str, Mapping[str, Any]], Explanation]] = {
    "continue_watching": _continue,
    "top_picks": _top_picks,
    "top10": _top10,
    "trending": _trending,
    "because_you_watched": _because,
    "genre": _genre,
    "micro_genre": _genre,
    "new_releases": _new_releases,
    "popular": _popular,
}


def explain(kind: str, title: str, evidence: Mapping[str, Any]) -> Explanation:
    """(the row's phrase, its tiles' reason) of a built-in row kind, from its title and evidence
    (JSON values); (None, None) for another kind or evidence that does not read as its kind's."""
    how = _KINDS.get(kind)
    if how is None or not isinstance(evidence, Mapping):
        return None, None
    try:
        return how(str(title), evidence)
    except (TypeError, ValueError, KeyError, OverflowError, OSError):
        return None, None
