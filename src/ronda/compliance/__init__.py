"""Compliance and reintegration: a person's record, step-down suggestions an
officer accepts or rejects, and programme figures (pure domain)."""

from ronda.compliance.models import Decision, DecisionKind, Policy, Step, Trend, ViolationRecord
from ronda.compliance.service import decide, history, programme

__all__ = [
    "Decision",
    "DecisionKind",
    "Policy",
    "Step",
    "Trend",
    "ViolationRecord",
    "decide",
    "history",
    "programme",
]
