"""Time units: every timestamp in pagegen is whole epoch seconds."""

__all__ = ["DAY"]

#: Seconds in a day.
DAY = 86_400
