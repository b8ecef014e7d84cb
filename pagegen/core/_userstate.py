"""UserState: one member at one moment ``now``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ._arrays import frozen
from ._catalog import MATURITY_LEVELS, Catalog
from ._errors import DataError
from ._interactions import EVENT_KINDS, IMPRESSION, PLAY, RATING, Interactions
from ._time import BREAK

__all__ = ["FINISHED_AT", "KIDS_MATURITY", "Profile", "UserState", "as_now"]

#: A title counts as finished once the watched fraction reaches this value.
FINISHED_AT = 0.9

#: The highest maturity level a kids profile may see.
KIDS_MATURITY = "7+"


def as_now(value: object, field: str = "now") -> int:
    """A request time as int epoch seconds: an integer, a whole-valued or truncated finite number,
    or a string of digits, from 0 (1970) within int64; anything else (NaN, inf, "abc", a bool, a
    negative time) is a DataError."""
    try:
        if isinstance(value, bool | np.bool_):
            raise TypeError
        out = int(value)  # type: ignore[call-overload]
        np.int64(out)
    except (TypeError, ValueError, OverflowError):
        raise DataError("expected epoch seconds: a finite number within int64", field=field, value=value) from None
    if out < 0:
        raise DataError("a time before 1970: epoch seconds are >= 0", field=field, value=value)
    return out


class Profile(BaseModel):
    """What a member's profile says about them (not learned from behaviour)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    maturity: int = Field(len(MATURITY_LEVELS) - 1, ge=0, lt=len(MATURITY_LEVELS), description="Highest maturity code the profile may see (index into MATURITY_LEVELS).")
    region: str | None = Field(None, description="Region code; titles not available there are ineligible. None: no restriction.")
    language: str | None = Field(None, description="Preferred language (BCP 47), informational.")
    kids: bool = Field(False, description=f"A kids profile: served the kids policy unless one is forced, and never above {KIDS_MATURITY!r} (maturity defaults to it).")

    @model_validator(mode="before")
    @classmethod
    def _kids_maturity(cls, data: object) -> object:
        """A kids profile without a maturity gets the kids level; one above it is refused."""
        if isinstance(data, dict) and data.get("kids") is True:
            if data.get("maturity") is None:
                return {**data, "maturity": KIDS_MATURITY}
            level = data["maturity"]
            code = MATURITY_LEVELS.index(level) if isinstance(level, str) and level in MATURITY_LEVELS else level
            if isinstance(code, int) and code > MATURITY_LEVELS.index(KIDS_MATURITY):
                raise ValueError(f"a kids profile sees at most {KIDS_MATURITY!r}, got maturity = {level!r}")
        return data

    @field_validator("maturity", mode="before")
    @classmethod
    def _maturity_name(cls, value: object) -> object:
        """A level name ("13+") is accepted for its code; anything else is validated as an int."""
        if isinstance(value, str) and value in MATURITY_LEVELS:
            return MATURITY_LEVELS.index(value)
        return value

    @property
    def maturity_name(self) -> str:
        """The maturity level's name, e.g. "13+"."""
        return MATURITY_LEVELS[self.maturity]


@dataclass(frozen=True, eq=False)
class UserState:
    """A member's history as of ``now``; only events strictly before ``now`` count.

    items      int32 distinct titles played, most recent first
    last       int64 time of the last play of each title
    fraction   float32 the highest watched fraction of each title
    rated      int32 titles rated; ``ratings`` float32 their latest rating
    shown      int32 the title of each impression (the title was on a page the member saw),
               oldest first; ``shown_at`` int64 their times. Whether an impression was followed
               by a play is read against ``items`` / ``last`` (see ``unplayed_impressions``).
    """

    now: int
    items: np.ndarray
    last: np.ndarray
    fraction: np.ndarray
    rated: np.ndarray
    ratings: np.ndarray
    profile: Profile = field(default_factory=Profile)
    user: str | None = None
    user_index: int = -1
    shown: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    shown_at: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "now", as_now(self.now))
        for name, dtype in (("items", np.int32), ("last", np.int64), ("fraction", np.float32), ("rated", np.int32), ("ratings", np.float32), ("shown", np.int32), ("shown_at", np.int64)):
            set_(self, name, frozen(np.asarray(getattr(self, name), dtype=dtype).ravel()))
        if not (len(self.items) == len(self.last) == len(self.fraction)):
            raise DataError("items, last and fraction differ in length", field="items")
        if len(self.rated) != len(self.ratings):
            raise DataError("rated and ratings differ in length", field="rated")
        if len(self.items) and int(self.last.max()) >= self.now:
            raise DataError("a play at or after now", field="last", value=int(self.last.max()))
        # min/max: a NaN makes both comparisons false, an infinity is outside [0, 1]
        if self.fraction.size and not (self.fraction.min() >= 0 and self.fraction.max() <= 1):
            raise DataError("watched fraction must be finite and within [0, 1]", field="fraction")
        if self.ratings.size and not np.isfinite(self.ratings).all():
            raise DataError("non-finite rating", field="ratings")
        if len(self.shown) != len(self.shown_at):
            raise DataError(f"{len(self.shown)} impressions but {len(self.shown_at)} impression times", field="shown_at", value=len(self.shown_at))
        if len(self.shown):
            if int(self.shown.min()) < 0:
                raise DataError("a negative title index", field="shown", value=int(self.shown.min()))
            if int(self.shown_at.max()) >= self.now:
                raise DataError("an impression at or after now", field="shown_at", value=int(self.shown_at.max()))
            if np.any(np.diff(self.shown_at) < 0):
                order = np.lexsort((self.shown, self.shown_at))
                set_(self, "shown", frozen(self.shown[order]))
                set_(self, "shown_at", frozen(self.shown_at[order]))

    # -- construction -------------------------------------------------------------------

    @classmethod
    def cold(cls, now: int, profile: Profile | None = None, *, user: str | None = None) -> UserState:
        """A member with no history (cold start)."""
        empty_i = np.zeros(0, np.int32)
        return cls(now=now, items=empty_i, last=np.zeros(0, np.int64), fraction=np.zeros(0, np.float32), rated=empty_i, ratings=np.zeros(0, np.float32), profile=profile or Profile(), user=user)

    @classmethod
    def from_interactions(cls, interactions: Interactions, user: object, now: int, profile: Profile | None = None) -> UserState:
        """The state of ``user`` (external id) from the events strictly before ``now``."""
        u = interactions.users.index(user, what="user id")
        sl = interactions.span(u)
        ts = interactions.timestamp[sl]
        stop = int(ts.searchsorted(now, side="left"))
        return cls._from_arrays(
            now,
            interactions.item[sl][:stop],
            ts[:stop],
            interactions.kind[sl][:stop],
            interactions.value[sl][:stop],
            profile=profile,
            user=interactions.users.id(u),
            user_index=u,
        )

    @classmethod
    def from_history(cls, catalog: Catalog, events: Iterable[Mapping[str, object]], now: int, profile: Profile | None = None, *, user: str | None = None) -> UserState:
        """From a live request: ``events`` are mappings with item (external id), timestamp, kind and value.

        Events at or after ``now`` are ignored, as for ``from_interactions``.
        """
        items, ts, kinds, values = [], [], [], []
        for pos, ev in enumerate(events):
            try:
                items.append(catalog.index(ev["item"]))
                ts.append(int(ev["timestamp"]))  # type: ignore[call-overload]
                kind = ev.get("kind", "play")
                if kind not in EVENT_KINDS:
                    raise DataError(f"expected one of {', '.join(EVENT_KINDS)}", field=f"events[{pos}].kind", value=kind)
                kinds.append(EVENT_KINDS.index(str(kind)))
                values.append(float(ev.get("value", 1.0)))  # type: ignore[arg-type]
            except KeyError as err:
                raise DataError("missing field", field=f"events[{pos}].{err.args[0]}") from None
            except DataError as err:
                if err.field and err.field.startswith("events["):
                    raise
                raise DataError(err.message, field=f"events[{pos}].item", value=err.value) from None
            except (TypeError, ValueError) as err:
                raise DataError(f"bad value ({err})", field=f"events[{pos}]", value=dict(ev)) from None
        item = np.asarray(items, np.int32)
        t = np.asarray(ts, np.int64)
        k = np.asarray(kinds, np.int8)
        v = np.asarray(values, np.float32)
        if not np.all(np.isfinite(v)):
            pos = int(np.flatnonzero(~np.isfinite(v))[0])
            raise DataError("non-finite value", field=f"events[{pos}].value", value=float(v[pos]))
        bad = (k == PLAY) & ((v < 0) | (v > 1))
        if np.any(bad):
            pos = int(np.flatnonzero(bad)[0])
            raise DataError("watched fraction outside [0, 1]", field=f"events[{pos}].value", value=float(v[pos]))
        order = np.lexsort((k, item, t))
        keep = t[order] < now
        order = order[keep]
        return cls._from_arrays(now, item[order], t[order], k[order], v[order], profile=profile, user=user)

    @classmethod
    def _from_arrays(cls, now, item, ts, kind, value, *, profile, user, user_index=-1) -> UserState:
        """Events sorted by time, all before ``now``."""
        play = kind == PLAY
        p_item, p_ts, p_val = item[play], ts[play], value[play]
        # last play time per title: events are time-sorted, so the last occurrence wins
        uniq, first_rev = np.unique(p_item[::-1], return_index=True)
        last = p_ts[::-1][first_rev]
        frac = np.zeros(len(uniq), np.float32)
        if len(uniq):
            pos = uniq.searchsorted(p_item)
            np.maximum.at(frac, pos, p_val)
        order = np.lexsort((uniq, -last))
        rate = kind == RATING
        if rate.any():
            r_item, r_ts, r_val = item[rate], ts[rate], value[rate]
            # the latest rating of a title wins; ratings at the same second: the higher one, so that
            # the state does not depend on the order the events arrived in
            by_time = np.lexsort((r_val, r_ts))
            r_item, r_val = r_item[by_time], r_val[by_time]
            r_uniq, r_first_rev = np.unique(r_item[::-1], return_index=True)
            r_last = r_val[::-1][r_first_rev]
        else:  # no ratings (what the steps above give for none)
            r_uniq, r_last = np.zeros(0, np.int32), np.zeros(0, np.float32)
        imp = kind == IMPRESSION
        return cls(now=now, items=uniq[order], last=last[order], fraction=frac[order], rated=r_uniq, ratings=r_last, profile=profile or Profile(), user=user, user_index=user_index,
                   shown=item[imp], shown_at=ts[imp])  # fmt: skip

    # -- views ------------------------------------------------------------------------

    @property
    def is_cold(self) -> bool:
        return len(self.items) == 0 and len(self.rated) == 0

    def finished(self) -> np.ndarray:
        """Titles watched to the end (fraction >= FINISHED_AT)."""
        return self.items[self.fraction >= FINISHED_AT]

    def in_progress(self) -> np.ndarray:
        """Titles started but not finished, most recent first."""
        mask = (self.fraction > 0) & (self.fraction < FINISHED_AT)
        return self.items[mask]

    def unplayed_impressions(self, since: int, fold: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Titles shown at or after ``since`` and not played since: (int32 distinct titles ascending,
        int64 how many such impressions each). An impression counts when it came after the title's
        last play (a play in the same second answers it). ``fold`` (int, over the catalog) maps a
        title to the title its plays count for (an episode to its series), so that playing an
        episode answers the impressions of its series."""
        keep = self.shown_at >= since
        shown, at = self.shown[keep], self.shown_at[keep]
        if not len(shown):
            return np.zeros(0, np.int32), np.zeros(0, np.int64)
        played, last = self.items, self.last
        if fold is not None:
            shown, played = fold[shown], fold[played]
        if len(played):
            uniq, inv = np.unique(played, return_inverse=True)
            latest = np.full(len(uniq), np.iinfo(np.int64).min)
            np.maximum.at(latest, inv, last)
            pos = np.minimum(uniq.searchsorted(shown), len(uniq) - 1)
            answered = (uniq[pos] == shown) & (latest[pos] >= at)
            shown = shown[~answered]
        titles, counts = np.unique(shown, return_counts=True)
        return titles.astype(np.int32), counts.astype(np.int64)

    def active_age(self, at: np.ndarray) -> np.ndarray:
        """int64 seconds: how long the member has been active since each time of ``at``.

        The member's own clock runs from play to play; a gap between two plays longer than
        BREAK counts as BREAK, and it stops at their last play (the silence up to ``now`` does
        not count). So a member's history keeps its weights over a break: a title played the
        day before a year away is one day old on return. A time after the last play is age 0;
        a member without plays has age 0 everywhere. This is the one clock by which rankers
        decay a history (``rows``' liking and recency).
        """
        at = np.asarray(at, np.int64)
        if len(self.last) == 0:
            return np.zeros(at.shape, np.int64)
        times = np.unique(self.last)  # ascending
        clock = np.zeros(times.size, np.int64)
        np.cumsum(np.minimum(np.diff(times), BREAK), out=clock[1:])
        i = np.maximum(times.searchsorted(at, side="right") - 1, 0)  # the last play at or before (else the first)
        since = np.clip(at - times[i], -BREAK, BREAK)
        return np.maximum(clock[-1] - (clock[i] + since), 0)

    def seen_mask(self, n_items: int) -> np.ndarray:
        """Bool mask over the catalog of titles the member has played or rated."""
        mask = np.zeros(n_items, dtype=bool)
        mask[self.items] = True
        mask[self.rated] = True
        return mask
