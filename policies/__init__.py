"""Page policies: declarative rules (``Policy``, TOML presets), their enforcement, and page validation (``check``)."""

from ._check import RULES, PageCheckError, check
from ._policy import PRESETS, Attention, Eligibility, GenreCap, Pin, Policy, Window, load_policy, policy_eligible
from ._rules import Rule, Violation, member_eligible
from ._shape import resize

__all__ = [
    "Attention",
    "Eligibility",
    "GenreCap",
    "PRESETS",
    "PageCheckError",
    "Pin",
    "Policy",
    "RULES",
    "Rule",
    "Violation",
    "Window",
    "check",
    "load_policy",
    "member_eligible",
    "policy_eligible",
    "resize",
]
