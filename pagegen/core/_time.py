"""Time units: every timestamp in pagegen is whole epoch seconds."""

__all__ = ["BREAK", "DAY"]

#: Seconds in a day.
DAY = 86_400
#: On a member's own clock (``UserState.active_age``) a silence longer than this counts as this long.
BREAK = 30 * DAY
