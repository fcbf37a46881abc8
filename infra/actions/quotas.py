"""Actions: quotas."""

from __future__ import annotations


def register_audit_labels() -> None:
    """The activity pages' labels of these actions (called from InfraConfig.ready)."""
