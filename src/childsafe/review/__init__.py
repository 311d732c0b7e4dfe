"""Cases and human review: intake, queue, decisions, reveals, appeals (see ``base.py``)."""
