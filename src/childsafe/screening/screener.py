"""``Screener``: the one screening engine behind ``childsafe serve`` and ``childsafe.guard``.

For one request: check it (``content``) → hash → match against the tenant's banks
(``matchers``) → run the policy rule's classifiers (``classifier_pool``; chat messages also
update their conversation's risk, ``conversations``) → apply the rule (``policy.engine``) →
record a ``DecisionEntry`` → return the ``ScreenVerdict``. Both front ends use this class, so
the service and the guard give the same verdict for the same content, policy and banks.

The decision is recorded *before* the verdict is returned, and ``DecisionLog.record`` returns
only once the entry is durable: a verdict a caller has seen is never missing from the log
after a restart. If the log cannot be written the exception propagates and no verdict is
given (the service answers 503): an unlogged decision would be an unauditable one.

Minimise exposure (DESIGN rule 2): the entry holds the content's SHA-256 (images: and PDQ),
ids, reasons and score summaries — never text, bytes or evidence excerpts.
"""

from __future__ import annotations

import io
import logging
import re
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image

from childsafe.banks.base import BankStore
from childsafe.classifiers.base import ClassifierResult
from childsafe.classifiers.conversation.messages import Message
from childsafe.classifiers.conversation.scorer import ConversationScorer
from childsafe.config import Settings
from childsafe.content.base import Item
from childsafe.errors import ScreenError
from childsafe.matching.matcher import SyncResult
from childsafe.policy.document import CONVERSATION, PolicyDocument, Rule
from childsafe.policy.engine import decide
from childsafe.screening.base import (
    ContentKind,
    DecisionEntry,
    DecisionLog,
    PolicyRef,
    PolicyStore,
    ScreenRequest,
    ScreenVerdict,
    Source,
    Subject,
)
from childsafe.screening.classifier_pool import ClassifierPool
from childsafe.screening.content import (
    Prepared,
    check_request,
    check_subject,
    check_tenant,
    prepare_image,
    prepare_text,
    resolve_request_id,
)
from childsafe.screening.conversations import Conversations
from childsafe.screening.matchers import TenantMatchers
from childsafe.screening.memory_log import MemoryDecisionLog
from childsafe.screening.policies import PolicyProvider, StorePolicies, static_policy

REASON_CODE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
# A report about a user or a content id with no hash: the log's hash column is required, and a
# made-up hex value would look like the hash of real content, so it says "none" in plain text.
NO_CONTENT = "none"
log = logging.getLogger(__name__)
SHA256 = re.compile(r"^[0-9a-f]{64}$")


class Screener:
    """Screens prompts, captions, generated text and images, uploads and chat messages.

    ``banks_for(tenant)`` gives the tenant's ``BankStore`` (None: no hash matching);
    ``policies_for`` is a ``PolicyStore`` or any ``tenant -> PolicyDocument`` callable
    (default: the built-in ``DEFAULT_POLICY`` for everyone); ``decision_log`` defaults to a
    ``MemoryDecisionLog``. ``index_dir`` keeps matcher indexes across restarts.
    """

    def __init__(
        self,
        *,
        banks_for: Callable[[str], BankStore] | None = None,
        policies_for: PolicyProvider | PolicyStore | None = None,
        decision_log: DecisionLog | None = None,
        settings: Settings | None = None,
        index_dir: Path | None = None,
        sync_interval_s: float = 5.0,
        max_conversations: int = 10_000,
        conversation_factory: Callable[[], ConversationScorer] = ConversationScorer,
    ) -> None:
        self.settings = settings or Settings()
        if isinstance(policies_for, PolicyStore):
            policies_for = StorePolicies(
                policies_for, allowed_plugins=self.settings.allowed_plugins
            )
        self.policies_for: PolicyProvider = policies_for or static_policy()
        self.decision_log: DecisionLog = (
            decision_log if decision_log is not None else MemoryDecisionLog()
        )
        self.matchers = TenantMatchers(
            banks_for, index_dir=index_dir, sync_interval_s=sync_interval_s
        )
        self.classifiers = ClassifierPool(self.settings)
        self.conversations = Conversations(
            max_conversations=max_conversations, factory=conversation_factory
        )
        # Where decisions that ask for a case go, with the screened bytes (None for text and
        # user reports): the service points it at the review desk. A failing sink must not
        # fail the screening: the entry is in the decision log with ``create_case``, and
        # ``childsafe cases intake --from-decisions`` opens the case from there.
        self.case_sink: Callable[[DecisionEntry, bytes | None], object] | None = None

    # -- public API ------------------------------------------------------------------------

    def policy(self, tenant: str) -> PolicyDocument:
        """The policy that screens ``tenant``'s content now."""
        check_tenant(tenant)
        return self.policies_for(tenant)

    def screen(self, request: ScreenRequest, source: Source = Source.API) -> ScreenVerdict:
        """Screen one item under its tenant's policy; see the module docstring.

        Raises ``ScreenError`` (or ``ContentTooLarge``) for a request that cannot be screened
        as given; content that cannot be *checked* gets a verdict under ``on_error``.
        """
        start = time.perf_counter()
        rid = resolve_request_id(request, uuid.uuid4().hex)
        kind = check_request(request, rid, self.settings)
        policy = self.policy(request.tenant)
        rule = self._rule(policy, kind, rid)
        pair = request.subject.conversation_id and request.subject.sender
        if kind == ContentKind.MESSAGE and CONVERSATION in rule.classifiers and not pair:
            raise ScreenError(
                f"request {rid}: a chat message needs subject.conversation_id and "
                "subject.sender (its conversation's risk is scored per pair)"
            )
        if kind.is_text:
            assert request.text is not None
            text_max = self.settings.text_max_chars
            prepared = prepare_text(rid, request.text, rule.hashers, text_max)
        else:
            assert request.data is not None
            prepared = prepare_image(rid, request.data, rule.hashers, self.settings)
        return self._decide(request, rid, kind, source, policy, rule, prepared, start)

    def screen_message(self, request: ScreenRequest, source: Source = Source.API) -> ScreenVerdict:
        """Screen one chat message: the ``message`` rule's text checks plus the risk of its
        conversation's sender → recipient pair. Needs ``subject.conversation_id`` and
        ``subject.sender``; messages of a pair must be sent in order."""
        if request.kind != ContentKind.MESSAGE:
            raise ScreenError(f"screen_message takes kind 'message', not {request.kind!r}")
        return self.screen(request, source)

    def user_report(
        self,
        tenant: str,
        subject: Subject,
        reason_code: str,
        content_sha256: str | None = None,
        kind: ContentKind = ContentKind.IMAGE,
        *,
        request_id: str | None = None,
    ) -> DecisionEntry:
        """Record a user's report in the decision log as a ``review`` that opens a case.

        ``reason_code`` is a short code from the platform's report form (``csam``,
        ``grooming``), never free text: reports are logged, and logs hold no content. Without
        ``content_sha256`` the entry's hash reads ``"none"`` (the report is about the
        subject's ids alone).
        """
        check_tenant(tenant)
        if not isinstance(reason_code, str) or not REASON_CODE.match(reason_code):
            raise ScreenError(
                f"reason code {str(reason_code)[:40]!r}: expected 1-64 lowercase letters, "
                "digits, '.', '_' or '-' (a code, not free text)"
            )
        if content_sha256 is not None and not SHA256.match(content_sha256.lower()):
            raise ScreenError("content_sha256: expected 64 hexadecimal characters")
        try:
            kind = ContentKind(kind)
        except ValueError:
            raise ScreenError(f"unknown kind {str(kind)[:40]!r}") from None
        ids = ScreenRequest(kind, tenant, request_id=request_id)
        rid = resolve_request_id(ids, uuid.uuid4().hex)
        check_subject(rid, subject)
        policy = self.policy(tenant)
        entry = DecisionEntry(
            request_id=rid,
            tenant=tenant,
            created_at=datetime.now(UTC),
            source=Source.USER_REPORT,
            kind=kind,
            decision="review",
            reasons=(f"user_report:{reason_code}",),
            policy=PolicyRef(policy.name, policy.version),
            content_sha256=content_sha256.lower() if content_sha256 else NO_CONTENT,
            subject=subject,
            create_case=True,
            note=reason_code,
        )
        self.decision_log.record(entry)
        self._to_case(entry, None)
        return entry

    def _to_case(self, entry: DecisionEntry, data: bytes | None) -> None:
        if not entry.create_case or self.case_sink is None:
            return
        try:
            self.case_sink(entry, data)
        except Exception:  # logged with its id; the decision log still holds the request
            log.exception("decision %s: case intake failed (run cases intake)", entry.request_id)

    def sync(self, tenant: str) -> list[SyncResult]:
        """Bring ``tenant``'s bank indexes up to date now (after an import, say)."""
        check_tenant(tenant)
        return self.matchers.sync(tenant)

    def end_conversation(self, tenant: str, conversation_id: str) -> int:
        """Forget a closed conversation's pair state; returns how many pairs were dropped."""
        check_tenant(tenant)
        return self.conversations.end(tenant, conversation_id)

    def warm_up(self, tenant: str, kinds: Sequence[ContentKind] | None = None) -> list[str]:
        """Load the models (and sync the banks) the tenant's policy needs, so the first
        request is not the slow one; returns the problems found (empty when all is well)."""
        policy = self.policy(tenant)
        problems: list[str] = []
        for kind in kinds or list(ContentKind):
            rule = policy.rule(kind)
            if rule is None:
                continue
            key = (tenant, policy.name, policy.version, str(kind))
            problems += self.classifiers.warm_up(key, rule)
            try:
                if CONVERSATION in rule.classifiers:
                    self.conversations.warm_up(tenant)
                # One throw-away run: compiles the PDQ kernel and lets the model runtimes
                # allocate (the first inference costs several times a later one). Not logged.
                if kind.is_text:
                    item = Item(id="warm-up", text="a short note about the weather")
                else:
                    item = prepare_image(
                        "warm-up", _warm_up_png(), rule.hashers, self.settings
                    ).item
                self.classifiers.run(key, rule, item)
            except Exception as exc:
                problems.append(f"warming up {kind.value}: {type(exc).__name__}: {exc}")
        if self.matchers.banks_for is not None:
            try:
                self.sync(tenant)
            except Exception as exc:
                problems.append(f"cannot sync the banks of tenant {tenant!r}: {exc}")
        return problems

    # -- internals -------------------------------------------------------------------------

    @staticmethod
    def _rule(policy: PolicyDocument, kind: ContentKind, rid: str) -> Rule:
        rule = policy.rule(kind)
        if rule is None:
            raise ScreenError(
                f"request {rid}: policy {policy.name!r} v{policy.version} has no rule for "
                f"kind {kind.value!r} (it screens: {', '.join(policy.rules)})"
            )
        return rule

    def _classify(
        self,
        request: ScreenRequest,
        rid: str,
        kind: ContentKind,
        policy: PolicyDocument,
        rule: Rule,
        prepared: Prepared,
    ) -> list[ClassifierResult]:
        if "read" in prepared.errors or "decode" in prepared.errors:
            return []  # nothing a model could look at; the error already decides
        key = (request.tenant, policy.name, policy.version, kind.value)
        results = self.classifiers.run(key, rule, prepared.item)
        if kind == ContentKind.MESSAGE and CONVERSATION in rule.classifiers:
            subject = request.subject
            assert subject.conversation_id and subject.sender  # checked in ``screen``
            message = Message(
                conversation_id=subject.conversation_id,
                sender=subject.sender,
                recipient=subject.recipient,
                text=prepared.scored_text or "",
                message_id=subject.content_id or rid,
            )
            thresholds = rule.thresholds.get(CONVERSATION, {})
            result, problem = self.conversations.update(request.tenant, message, thresholds)
            results.append(result)
            if problem:
                prepared.fail(f"classify:{CONVERSATION}", f"request {rid}: {problem}")
        return results

    def _decide(
        self,
        request: ScreenRequest,
        rid: str,
        kind: ContentKind,
        source: Source,
        policy: PolicyDocument,
        rule: Rule,
        prepared: Prepared,
        start: float,
    ) -> ScreenVerdict:
        matched = self.matchers.match(request.tenant, prepared.hashes, rule.banks)
        results = self._classify(request, rid, kind, policy, rule, prepared)
        outcome = decide(
            rule,
            policy.messages,
            matches=matched.matches,
            results=results,
            errors=[*prepared.errors, *matched.errors],
        )
        problems = [
            *prepared.problems,
            *matched.problems,
            *(r.error for r in results if r.error is not None),
        ]
        reasons = tuple(dict.fromkeys([*outcome.reasons, *prepared.notes, *matched.notes]))
        ref = PolicyRef(policy.name, policy.version)
        entry = DecisionEntry(
            request_id=rid,
            tenant=request.tenant,
            created_at=datetime.now(UTC),
            source=source,
            kind=kind,
            decision=outcome.decision,
            reasons=reasons,
            policy=ref,
            content_sha256=prepared.sha256,
            pdq=prepared.pdq,
            subject=request.subject,
            match_summary=tuple(
                f"{m.bank}:{m.hash_type}:{m.entry_id}:{m.distance}" for m in matched.matches
            ),
            score_summary={
                f"{r.classifier}.{label}": round(float(score), 6)
                for r in results
                for label, score in r.scores.items()
            },
            create_case=outcome.create_case,
        )
        self.decision_log.record(entry)
        self._to_case(entry, request.data)
        return ScreenVerdict(
            request_id=rid,
            decision=outcome.decision,
            reasons=reasons,
            policy=ref,
            kind=kind,
            content_sha256=prepared.sha256,
            matches=tuple(matched.matches),
            scores=tuple(results),
            message=outcome.message,
            create_case=outcome.create_case,
            error="; ".join(problems) if problems else None,
            pdq=prepared.pdq,
            latency_ms=(time.perf_counter() - start) * 1000.0,
        )


@cache
def _warm_up_png() -> bytes:
    """A small synthetic gradient (no content of any kind) to run the image checks once."""
    ramp = np.linspace(0, 255, 128, dtype=np.uint8)
    pixels = np.stack([np.add.outer(ramp, ramp) // 2] * 3, axis=-1).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buf, "PNG")
    return buf.getvalue()
