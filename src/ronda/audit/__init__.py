"""The append-only audit trail: canonical entries chained by SHA-256."""
