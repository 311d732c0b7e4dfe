"""Screening: one verdict per prompt, caption, generated output, upload or chat message."""
