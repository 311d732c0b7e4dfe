"""Adapters for external classifiers: OpenAI moderation, Hive, Thorn Safer.

**Every adapter sends content to a third party.** They exist for platforms that already have
an agreement with a vendor and want its scores next to the local models, as triage signals
that route items to human review. Building an adapter is offline and free; ``setup`` checks
the key and URL; ``classify`` validates every item locally first (corrupt or empty items never
leave the machine) and turns every vendor failure into a per-item error. See
docs/models/adapters.md for the label mappings, thresholds and what each vendor receives.

The classes live in their own modules (``openai``, ``hive``, ``safer``) and are loaded by the
classifier registry; importing this package loads none of them.
"""
