"""Transparency reports: the period's figures, TRUST-aligned, as JSON/CSV/HTML."""
