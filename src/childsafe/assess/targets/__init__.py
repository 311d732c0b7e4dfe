"""Targets: the model under test behind one small interface (``assess.base.Target``).

Built-ins: ``openai`` (:mod:`.openai_chat`, any OpenAI-compatible chat or completions
endpoint), ``callable`` (:mod:`.callable`, a Python function), ``image-http``
(:mod:`.image_http`, a text-to-image endpoint). They share :mod:`._http`: timeouts, retries
with backoff on 429/5xx/timeouts, and error strings that never repeat a server's message (a
401 body may quote the API key).

When the provider itself blocks a request (a 400 ``content_policy_violation``, a chat
``finish_reason`` of ``content_filter``) the response is not an error: its text is
``PROVIDER_REFUSAL`` followed by the provider's code, so scoring can count it as a refusal.
"""

from __future__ import annotations

PROVIDER_REFUSAL = "[provider refusal]"
