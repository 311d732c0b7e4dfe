"""childsafe: keep CSAM, AI-generated CSAM and child exploitation out of data, models and platforms."""

__version__ = "0.1.0"
