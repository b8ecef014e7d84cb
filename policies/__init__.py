"""Page policies: declarative rules (``Policy``, TOML presets), their enforcement, and page validation (``check``)."""

from ._check import RULES, PageCheckError, check
from ._constraint import Candidates, Constraint, ExactModel, Loop, RowMask
from ._policy import PRESETS, Attention, Eligibility, GenreCap, Pin, Policy, Window, load_policy, policy_eligible
from ._route import AUTO, DEVICE_PRESETS, preset_for
from ._shape import resize
from ._violation import Rule, Violation, member_eligible

__all__ = [
    "AUTO",
    "Attention",
    "Candidates",
    "Constraint",
    "DEVICE_PRESETS",
    "Eligibility",
    "ExactModel",
    "GenreCap",
    "Loop",
    "PRESETS",
    "PageCheckError",
    "Pin",
    "Policy",
    "RULES",
    "RowMask",
    "Rule",
    "Violation",
    "Window",
    "check",
    "load_policy",
    "member_eligible",
    "policy_eligible",
    "preset_for",
    "resize",
]
