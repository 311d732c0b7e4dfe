"""The built-in policy for a generative-AI platform, as plain data (see docs/policy.md).

Why these choices:

* **Prompts, captions, chat messages**: ``text_risk`` HIGH (a minor *and* sexual context
  about the same subject) blocks with the prevention message and opens a case, as Safety by
  Design asks: deter the attempt, point to help, and let a human look. LOW (adult sexual
  content alone) is allowed here: it is not a child-safety finding, and the generated image is
  screened again on the way out. Chat messages also carry the conversation's risk.
* **Generated images**: hashes against every bank (a match blocks and opens a case) and
  ``image_risk``: HIGH (nudity with a face that may be a minor's) is withheld and sent to
  review; MEDIUM/LOW go to review.
* **Uploads**: hash matching against the tenant's banks only; classifiers on every upload are
  left to the platform (add ``image_risk`` to the rule).
* **Errors fail closed**: anything that could not be checked goes to review, never silently
  through.
"""

from __future__ import annotations

from typing import Any

PREVENTION = (
    "This request was blocked because it appears to sexualise a child. Sexual content "
    "involving children is illegal and causes serious, lasting harm. If you are worried about "
    "your own thoughts or behaviour towards children, confidential and non-judgemental help is "
    "available: organisations such as Stop It Now offer anonymous support."
)
UPLOAD_BLOCKED = (
    "This file cannot be shared here because it violates our policy on child sexual abuse "
    "material. Sharing such material is illegal and harms the children shown in it. If you are "
    "worried about your own behaviour, anonymous help is available from organisations such as "
    "Stop It Now."
)
CHAT_BLOCKED = (
    "This message was not delivered because it may put a child at risk. Sexual contact with "
    "children, online or offline, is illegal and causes serious harm. If you are worried about "
    "your own thoughts or behaviour towards children, anonymous help is available from "
    "organisations such as Stop It Now."
)
OUTPUT_WITHHELD = (
    "The generated content was withheld because it may break our child-safety policy, and it "
    "has been sent for review."
)

_BLOCK_PREVENT = {"outcome": "block", "message": "prevention", "create_case": True}
_MATCH = {"outcome": "block", "message": "upload_blocked", "create_case": True}
_REVIEW = {"outcome": "review"}
_ALLOW = {"outcome": "allow"}

_TEXT_RULE: dict[str, Any] = {
    "classifiers": ["text_risk"],
    "on_high_priority": _BLOCK_PREVENT,
    "on_review": _REVIEW,
    "on_low_priority": _ALLOW,
    "on_error": _REVIEW,
}

DEFAULT_POLICY_DATA: dict[str, Any] = {
    "name": "default",
    "version": "1",
    "description": "Built-in child-safety policy for a generative-AI platform.",
    "messages": {
        "prevention": PREVENTION,
        "upload_blocked": UPLOAD_BLOCKED,
        "output_withheld": OUTPUT_WITHHELD,
        "chat_blocked": CHAT_BLOCKED,
    },
    "rules": {
        "prompt": _TEXT_RULE,
        "caption": _TEXT_RULE,
        "generated_text": {
            "classifiers": ["text_risk"],
            "on_high_priority": {
                "outcome": "block",
                "message": "output_withheld",
                "create_case": True,
            },
            "on_review": _REVIEW,
            "on_low_priority": _ALLOW,
            "on_error": _REVIEW,
        },
        "image": {
            "hashers": ["md5", "pdq"],
            "banks": "all",
            "on_match": _MATCH,
            "on_error": _REVIEW,
        },
        "generated_image": {
            "hashers": ["md5", "pdq"],
            "banks": "all",
            "classifiers": ["image_risk"],
            "on_match": {"outcome": "block", "message": "output_withheld", "create_case": True},
            "on_high_priority": {
                "outcome": "block",
                "message": "output_withheld",
                "create_case": True,
            },
            "on_review": _REVIEW,
            "on_error": _REVIEW,
        },
        "message": {
            "classifiers": ["text_risk", "conversation_risk"],
            "on_high_priority": {
                "outcome": "block",
                "message": "chat_blocked",
                "create_case": True,
            },
            "on_review": _REVIEW,
            "on_low_priority": _ALLOW,
            "on_error": _REVIEW,
        },
    },
}
