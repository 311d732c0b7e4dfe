"""Grooming-stage signals: regular expressions over normalised chat text, each with its span.

The stages follow the literature's description of online grooming (O'Connell's stages:
friendship and relationship forming, risk assessment, exclusivity, escalation) as lines a
reviewer can recognise: probing a child's age, asking for personal details, checking whether a
parent is around, asking for secrecy, moving the chat to another app, offering gifts or game
currency, asking for pictures and asking to meet. Each stage has a *phase*; the scorer rewards
a pair whose stages arrive in phase order over several messages, because that progression, not
any single line, is what separates grooming from a child's ordinary chat (kids ask each other
how old they are and add each other on Discord all the time).

Why rules and not only embeddings: a rule names the stage and the exact words that matched, so
a reviewer sees *why* without reading the whole chat, and a rule cannot drift when a model is
updated. Rules run on :func:`~childsafe.classifiers.text.normalize.normalize` output, so
leetspeak, homoglyphs and s p a c i n g do not evade them, and every match is mapped back to
offsets in the original message. Words are joined by ``[\\W_]*``: normalisation may merge
single letters ("r u" → "ru") and chat drops spaces and apostrophes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from childsafe.classifiers.text.normalize import Normalized, normalize

# Word classes shared by the patterns (chat spellings included).
_MACROS = {
    "{U}": r"(?:you|u|ya|yu)",
    "{UR}": r"(?:your|ur|yur|yer)",
    "{YOURE}": r"(?:you[\W_]*re|youre|you[\W_]*are|u[\W_]*r|u[\W_]*are|ur|your)",
    "{ARE}": r"(?:are|r)",
    "{NOT}": r"(?:don[\W_]*t|do[\W_]*not|dnt|never|dont)",
    "{PARENT}": r"(?:parents?|mom|mum|mommy|dad|daddy|folks|family|step[\W_]*(?:mom|dad))",
    "{APP}": (
        r"(?:snap(?:chat)?|insta(?:gram)?|ig|whats[\W_]*app|telegram|discord|kik|signal|"
        r"skype|wickr|viber|facetime|another[\W_]*app|a[\W_]*different[\W_]*app|"
        r"a[\W_]*private[\W_]*(?:app|chat|server)|private[\W_]*(?:chat|server|messages?))"
    ),
    "{GIFT}": (
        r"(?:robux|v[\W_]*bucks|gems|coins|credits|(?:game[\W_]*)?currency|gift[\W_]*cards?|"
        r"skins?|a[\W_]*skin|a[\W_]*gift|gifts|a[\W_]*present|presents|money|cash|"
        r"battle[\W_]*pass|nitro|minecoins|diamonds)"
    ),
    "{MEDIA}": r"(?:pics?|pictures?|photos?|selfies?|pix|images?|vids?|videos?)",
}


@dataclass(frozen=True, slots=True)
class Stage:
    """One grooming stage: its name (a storage key), phase (0-3), phrase and patterns."""

    name: str
    phase: int
    description: str
    patterns: tuple[str, ...]


STAGES: tuple[Stage, ...] = (
    Stage(
        "flattery",
        0,
        "flattery or trust building",
        (
            r"{YOURE} (?:so |really |very |super )?(?:mature|special|beautiful|gorgeous|stunning)",
            r"{YOURE} (?:so|really|very) (?:pretty|cute)",
            r"mature for {UR} age",
            r"{U} (?:seem|act|sound|look) (?:so |really |very )?(?:mature|older|grown up)",
            r"not like (?:the )?other (?:kids|girls|boys|people)",
            r"never (?:met|talked to) (?:any|some)(?:one|body) like {U}",
            r"{U} can (?:trust me|tell me anything|tell me everything)",
            r"(?:my|our) (?:special|little) (?:friend|girl|boy|one)",
        ),
    ),
    Stage(
        "gifts",
        0,
        "offer of gifts or game currency",
        (
            r"(?:i[\W_]*ll|i will|i can|i could|ill|i[\W_]*m gonna|im gonna|let me|lemme|i wanna)"
            r" (?:give|send|buy|get|gift|transfer|pay) {U} "
            r"(?:some |a |free |more |lots of |a lot of |\d+ |extra )?(?:\w+ )?{GIFT}",
            r"free (?:robux|v[\W_]*bucks|gems|coins|nitro|skins?|gift[\W_]*cards?)",
            r"(?:do {U} |)(?:want|wanna|need) (?:some |free |more |extra )?"
            r"(?:robux|v[\W_]*bucks|nitro|gift[\W_]*cards?|minecoins)",
        ),
    ),
    Stage(
        "age_probe",
        1,
        "question about age or school year",
        (
            r"how (?:old|0ld) {ARE} {U}",
            r"what(?:[\W_]*s| is) {UR} age",
            r"what (?:grade|year) {ARE} {U}",
            r"{ARE} {U} (?:in )?(?:middle|high|elementary|primary|secondary|junior high) school",
            r"asl",
            r"{ARE} {U} (?:a )?(?:kid|minor|teen|teenager)",
            r"{ARE} {U} (?:over|under) (?:eighteen|thirteen|sixteen|18|13|16)",
        ),
    ),
    Stage(
        "personal_info",
        1,
        "request for personal details",
        (
            r"where do {U} live",
            r"where {U} live",
            r"what (?:town|city|street|neighbou?rhood|state) do {U} live in",
            r"what(?:[\W_]*s| is) {UR} (?:home )?(?:address|phone(?: number)?|number|last name|"
            r"full name|real name|school)",
            r"(?:what|which) school do {U} (?:go to|attend)",
            r"where do {U} go to school",
            r"(?:send|give|tell) me {UR} (?:home )?(?:address|number|location|phone|school|"
            r"real name|last name|full name)",
        ),
    ),
    Stage(
        "isolation",
        1,
        "supervision check or isolation from parents",
        (
            r"{ARE} {UR} {PARENT} (?:home|around|there|awake|nearby|watching|checking|in the room)",
            r"(?:is|are|r) (?:any ?one|any ?body|any1) (?:else )?(?:home|there|around|"
            r"with {U}|in the room|watching)",
            r"{ARE} {U} (?:all )?(?:home )?alone",
            r"do {UR} {PARENT} (?:check|read|look at|see|go through|monitor) {UR} "
            r"(?:phone|messages|msgs|chats?|texts|account|tablet)",
            r"when do {UR} {PARENT} (?:go to (?:bed|sleep)|leave|get home|go out)",
            r"{UR} {PARENT} (?:don[\W_]*t|do not|dont|never|wouldn[\W_]*t|won[\W_]*t|would not)"
            r" (?:understand|get|listen to) {U}",
            r"(?:no ?one|nobody) (?:else )?(?:understands|gets) {U} like (?:i do|me)",
            r"only (?:one|person) who (?:really )?(?:understands|gets) {U}",
        ),
    ),
    Stage(
        "secrecy",
        2,
        "request for secrecy",
        (
            r"{NOT} tell (?:any ?one|any ?body|any1|ne1|{UR} {PARENT}|{UR} (?:friends|teacher|"
            r"sister|brother))",
            r"our (?:little )?secret",
            r"keep (?:this|it|that|us|our chats?|everything) (?:a )?(?:secret|private|quiet|"
            r"between us|to (?:yourself|urself))",
            r"(?:just )?between (?:you and me|u and me|us two)|just between us",
            r"delete (?:our|the|these|this|all the|those) (?:chats?|messages|msgs|convo|"
            r"conversation|texts)",
            r"(?:no ?one|nobody|no1) (?:needs|has|have|gotta) to know",
        ),
    ),
    Stage(
        "platform_move",
        2,
        "move to another app or a private channel",
        (
            r"add me on {APP}",
            r"(?:do|does) {U} (?:have|got|use) (?:a |an )?{APP}",
            r"(?:let[\W_]*s|lets|we should|we could|can we|wanna|we can) (?:talk|chat|move|go|"
            r"switch|continue|text) (?:on|to|over to|in) {APP}",
            r"what(?:[\W_]*s| is) {UR} {APP}",
            r"(?:dm|message|msg|text|call) me (?:on|at) {APP}",
            r"(?:move|take) (?:this|it|our chat) (?:somewhere )?(?:more )?(?:private|else)",
            r"somewhere (?:more )?private",
        ),
    ),
    Stage(
        "photo_request",
        3,
        "request for pictures or camera",
        (
            r"(?:send|share|show) (?:me )?(?:a |some |any |another |more |{UR} |a few )?"
            r"(?:\w+ )?{MEDIA}",
            r"(?:do|can|could|would|will) {U} (?:have|send|share|take|show) (?:me )?"
            r"(?:a |any |some |more )?(?:\w+ )?{MEDIA}",
            r"(?:turn|switch) on {UR} (?:cam|camera|webcam)",
            r"(?:get|go|hop) on (?:cam|camera|webcam)",
            r"what do {U} look like",
        ),
    ),
    Stage(
        "meeting_request",
        3,
        "request to meet in person",
        (
            r"(?:we should|let[\W_]*s|lets|wanna|want to|could we|can we|we could|i want to|"
            r"i wanna|i[\W_]*d like to|i would like to) (?:meet|hang out|see each other|"
            r"get together)",
            r"meet (?:up|irl|in person|in real life)",
            r"(?:where|when) (?:can|could|should) (?:we|i) meet",
            r"i (?:can|could|will|[\W_]*ll) (?:pick {U} up|come (?:to|by) {UR} "
            r"(?:place|house|school)|drive to {UR})",
            r"come (?:over )?to my (?:place|house|apartment|car)",
            r"(?:see|meet) {U} (?:in person|irl|in real life|for real)",
        ),
    ),
)

STAGE_NAMES: tuple[str, ...] = tuple(s.name for s in STAGES)
PHASE: dict[str, int] = {s.name: s.phase for s in STAGES}
DESCRIPTION: dict[str, str] = {s.name: s.description for s in STAGES}


def _compile(pattern: str) -> re.Pattern[str]:
    for macro, body in _MACROS.items():
        pattern = pattern.replace(macro, body)
    return re.compile(r"\b(?:" + pattern.replace(" ", r"[\W_]*") + r")\b")


_COMPILED: tuple[tuple[Stage, tuple[re.Pattern[str], ...]], ...] = tuple(
    (stage, tuple(_compile(p) for p in stage.patterns)) for stage in STAGES
)


@dataclass(frozen=True, slots=True)
class StageSignal:
    """One stage seen in one message; ``start``/``end`` index the ORIGINAL message text."""

    stage: str
    start: int
    end: int


def detect_normalized(norm: Normalized) -> list[StageSignal]:
    """Stage signals of already-normalised text, one per stage (its first match), in order.

    One signal per stage per message: a line that asks the same thing twice is one piece of
    evidence, and the scorer counts distinct stages, not matches.
    """
    found: list[StageSignal] = []
    for stage, patterns in _COMPILED:
        best: tuple[int, int] | None = None
        for pattern in patterns:
            match = pattern.search(norm.text)
            if match and match.end() > match.start() and (best is None or match.start() < best[0]):
                best = match.span()
        if best is not None:
            start, end = norm.span(*best)
            found.append(StageSignal(stage.name, start, end))
    found.sort(key=lambda s: (s.start, PHASE[s.stage]))
    return found


def detect_stages(text: str) -> list[StageSignal]:
    """Stage signals of one message (see :func:`detect_normalized`)."""
    return detect_normalized(normalize(text))


def stage_names(signals: Sequence[StageSignal]) -> tuple[str, ...]:
    """The distinct stage names of ``signals``, in order of appearance."""
    return tuple(dict.fromkeys(s.stage for s in signals))
