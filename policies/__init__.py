"""Page policies: declarative rules, their enforcement, and page validation."""

__all__: list[str] = []
