"""Assess generative models for child-safety risk: probes, targets, scoring, reports."""
