"""A policy cut to another page shape (fewer rows, shorter rows), keeping its other rules."""

from __future__ import annotations

from ._policy import Policy, load_policy

__all__ = ["resize"]


def resize(policy: Policy | str, n_rows: int, row_length: int) -> Policy:
    """``policy`` (or a preset name) on an ``n_rows`` x ``row_length`` page: the windows, the minimum
    row lengths and the pins are clipped to fit; when the pins then compete for the same rows, only
    the first is kept. The user's own rules (``Policy.rules``) come along."""
    policy = load_policy(policy)
    data = policy.model_dump()
    data["rules"] = policy.rules
    data.update(n_rows=n_rows, row_length=row_length, min_titles=min(data["min_titles"], row_length))
    data["min_titles_per_kind"] = {kind: min(n, row_length) for kind, n in data["min_titles_per_kind"].items()}
    data["windows"] = {d: {"rows": min(w["rows"], n_rows), "columns": min(w["columns"], row_length)} for d, w in data["windows"].items()}
    pins = []
    for pin in data["pins"]:
        if pin["at"] is not None:
            pin["at"] = min(pin["at"], n_rows - 1)
        if pin["within"] is not None:
            pin["within"] = min(pin["within"], n_rows)
        pins.append(pin)
    data["pins"] = pins
    try:
        return Policy(**data)
    except ValueError:
        data["pins"] = pins[:1]
        return Policy(**data)
