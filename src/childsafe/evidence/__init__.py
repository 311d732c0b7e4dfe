"""Encrypted, access-limited, audited, expiring storage of evidence (see ``base.py``)."""
