"""Per-row rankers: one row family per module."""

__all__: list[str] = []
