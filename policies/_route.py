"""The policy a request is served under when none is forced: the member's profile and device decide.

A kids profile gets the ``kids`` preset on every device (its maturity limit and genre exclusions
come with it); any other profile gets its device's preset (``tv``, ``mobile``, ``default`` on the
web). The device then picks its visible window from the chosen policy.
"""

from __future__ import annotations

from pagegen.core._errors import PolicyError
from pagegen.core._userstate import Profile

__all__ = ["AUTO", "DEVICE_PRESETS", "preset_for"]

#: The policy name that asks for routing by profile and device.
AUTO = "auto"

#: The preset each device is served when no policy is forced (kids profiles: ``kids`` everywhere).
DEVICE_PRESETS: dict[str, str] = {"mobile": "mobile", "tv": "tv", "web": "default"}


def preset_for(profile: Profile, device: str) -> str:
    """The preset a request from ``profile`` on ``device`` is served; PolicyError for an unknown device."""
    if device not in DEVICE_PRESETS:
        raise PolicyError(f"policy {AUTO!r}: no device {device!r} (known: {', '.join(sorted(DEVICE_PRESETS))})")
    return "kids" if profile.kids else DEVICE_PRESETS[device]
