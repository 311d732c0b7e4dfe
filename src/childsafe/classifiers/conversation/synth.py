"""Synthetic conversations for evaluating the conversation scorer (benign stand-ins only).

No lawful, non-explicit labelled grooming corpus exists (PAN 2012's positives are explicit
decoy chats, which this project must not hold), so evaluation uses generated chats:

* **benign** conversations of many kinds — gaming duos, study buddies, parent and child,
  siblings, a team group chat, friends planning a party — including the hard cases real
  platforms see: kids asking each other's age, a surprise party kept secret, a parent asking
  for a photo of a receipt, friends moving to Discord or meeting at the mall;
* **grooming-pattern** conversations of 20-80 messages in which one participant works
  through several stages (rapport, assessment, exclusivity, escalation) in order, each stage
  line buried among ordinary chat, some lines obfuscated (leetspeak, spacing), while the other
  participant replies like a kid. Every line is *non-sexual*: the pattern is the signal.

The wording here is deliberately different from the Sentinel exemplars
(``scripts/make_conversation_data.py``): held-out figures must measure generalisation to new
phrasing, not recall of remembered lines. Generation is a pure function of the seed.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GENERATOR_VERSION = 1
START_EPOCH = 1_735_000_000

# Held-out grooming-pattern lines by stage, in phase order. Non-sexual, and worded unlike the
# exemplars on purpose; some phrasings are indirect enough that no rule catches them.
STAGE_LINES: dict[str, list[str]] = {
    "flattery": [
        "honestly ur way smarter than most people my age",
        "you talk like a grown up, its refreshing",
        "i feel like i can be myself around you",
        "ur honestly one of a kind",
        "you're so special, i mean it",
        "you seem way more mature than the kids in your class",
        "you can trust me, i'm always here for you",
    ],
    "gifts": [
        "i have loads of extra robux, want some?",
        "i could get you that skin you wanted",
        "if you want i can top up your account",
        "i'll send you a 20 dollar gift card, no big deal",
        "want me to buy you the season pass",
        "i got spare gems, i'll gift you some",
    ],
    "age_probe": [
        "wait how old are u again",
        "what year were you born",
        "u still in elementary or middle?",
        "which grade r u now",
        "so are u like 12 or 13",
        "how old r you btw",
        "do you go to middle school?",
    ],
    "personal_info": [
        "which part of town are you in",
        "what school do u go to",
        "where do u live exactly",
        "whats ur address, i'll mail you something",
        "what's the name of your school",
        "what neighborhood do you live in",
    ],
    "isolation": [
        "is your mum around rn",
        "anyone else using the computer with you?",
        "r ur parents home tonight",
        "do ur parents look at ur messages",
        "what time do your parents get home",
        "your parents don't get you like i do",
        "are you by yourself right now",
    ],
    "secrecy": [
        "don't mention me to your mom ok",
        "let's keep our chats private",
        "wipe our chat history when you're done",
        "this is just between you and me",
        "don't tell anyone we talk, they wouldn't understand",
        "it's our little secret",
    ],
    "platform_move": [
        "got a discord? easier to talk there",
        "hit me up on telegram",
        "add me on snap, same username",
        "can we talk on whatsapp instead",
        "let's switch to a private app",
        "do u have insta",
    ],
    "photo_request": [
        "got any recent pics?",
        "snap me a selfie",
        "can u hop on cam for a sec",
        "send me a pic so i know you're real",
        "can you show me your outfit today",
        "i wanna see what you look like",
    ],
    "meeting_request": [
        "i'm not far from you, we could hang out",
        "we could grab food sometime, just us two",
        "i could come by after your school lets out",
        "when can we meet up",
        "i can drive to your town on saturday",
        "let's meet at the mall, don't bring anyone",
    ],
}
PHASES = (
    ("flattery", "gifts"),
    ("age_probe", "personal_info", "isolation"),
    ("secrecy", "platform_move"),
    ("photo_request", "meeting_request"),
)

SMALL_TALK = [
    "what u up to today",
    "that boss fight was insane",
    "did u see the new update",
    "i'm so bored lol",
    "what's your favourite game rn",
    "how was school",
    "haha nice",
    "that's cool",
    "i'm eating cereal for dinner lol",
    "my internet keeps cutting out",
    "you're good at building",
    "the new map is huge",
    "i can't wait for the weekend",
    "did u finish your quest",
    "ya same",
    "what music do you like",
    "the weather is so gross today",
    "i just woke up",
    "ok cool",
    "lmao",
]
KID_LINES = [
    "ok",
    "lol",
    "idk",
    "ya",
    "haha",
    "cool",
    "i have homework",
    "my brother is so annoying",
    "i'm playing rn",
    "wait what",
    "nah",
    "maybe",
    "i have to eat dinner soon",
    "thats funny",
    "i like drawing",
    "why",
]
KID_ANSWERS: dict[str, list[str]] = {
    "age_probe": ["im 12", "13", "7th grade", "middle school ya", "i'm 11"],
    "personal_info": ["idk", "near the park", "why", "i dont know the address"],
    "isolation": ["my mom is at work", "no one is home", "my dad is downstairs", "idk"],
    "secrecy": ["ok", "ok i wont", "why not", "ok"],
    "platform_move": ["i dont have that", "ok", "my mom wont let me", "maybe"],
    "gifts": ["really?? thanks", "wow ok", "ok", "thank you"],
    "photo_request": ["um", "why", "i dont have any", "maybe later"],
    "meeting_request": ["i dont know", "my mom wont let me", "maybe", "where"],
    "flattery": ["thanks lol", "haha", "ok", "aw thanks"],
}

# Benign conversation kinds: (lines for speaker A, lines for speaker B). Several carry one
# pattern-like line on purpose (age questions between kids, a surprise kept secret).
BENIGN_KINDS: dict[str, tuple[list[str], list[str]]] = {
    "gaming": (
        [
            "u on tonight?",
            "bring the good pickaxe",
            "that creeper blew up my house lol",
            "i'll build the farm you get wood",
            "we need more iron",
            "gg",
            "rematch?",
            "how old r u btw, my cousin says ur in his class",
            "got a discord? easier than typing",
            "join my server",
            "i'm lagging so bad",
        ],
        [
            "yeah after dinner",
            "ok",
            "lmaooo",
            "deal",
            "i have like 20 iron",
            "gg",
            "yes",
            "im 12",
            "ya same name as here",
            "joining",
            "same",
        ],
    ),
    "study": (
        [
            "did u get number 7",
            "the essay is due friday right",
            "can u explain photosynthesis lol",
            "i'll send you my notes",
            "what did u get for the last one",
            "the quiz was so hard",
            "wanna study at the library tomorrow",
            "send me a pic of the worksheet pls",
        ],
        [
            "ya its 42",
            "thursday i think",
            "plants eat sunlight basically",
            "thanks!!",
            "b",
            "i think i failed",
            "sure after school",
            "ok one sec",
        ],
    ),
    "parent": (
        [
            "are you home yet",
            "did you eat lunch",
            "send me a photo of the receipt please",
            "i'll pick you up at 4:30",
            "don't forget your coat",
            "grandpa called",
            "we're having soup tonight",
            "love you",
            "meet me by the car after practice",
            "is your homework done",
        ],
        [
            "yes",
            "yeah",
            "ok sending",
            "ok",
            "i wont",
            "what did he say",
            "yum",
            "love you too",
            "ok",
            "almost",
        ],
    ),
    "siblings": (
        [
            "give me back my charger",
            "mom says dinner",
            "i'll buy you vbucks if you do my chores",
            "don't tell mom i broke the vase",
            "can i borrow your headphones",
            "you're so annoying",
        ],
        ["no", "coming", "deal", "ok but you owe me", "fine", "you are"],
    ),
    "team": (
        [
            "practice moved to 5",
            "bring water bottles",
            "we play the tigers saturday",
            "coach wants everyone there early",
            "great game today",
            "who's bringing snacks",
        ],
        ["ok", "got it", "we got this", "ok coach", "thanks!", "i can"],
    ),
    "party": (
        [
            "ok so the party is saturday",
            "don't tell sam, it's a surprise",
            "can u bring the balloons",
            "let's meet at the mall to get a gift",
            "what should we get her",
            "her mom said 2pm",
        ],
        ["yay", "i wont say anything", "sure", "ok what time", "maybe a book", "ok"],
    ),
    "cousins": (
        [
            "are you coming to grandmas this weekend",
            "i got a new puppy",
            "my mom says we're driving up on friday",
            "what grade are you in now",
            "we should build a fort again",
        ],
        ["yes!!", "omg send pics", "yay", "6th", "yes"],
    ),
}
GROUP_LINES = [
    "who's online",
    "lol",
    "did anyone do the reading",
    "game night friday?",
    "i'm in",
    "same",
    "what time",
    "7 works",
    "bring snacks",
    "haha",
    "i can't friday",
    "saturday then?",
]
HANDLES = [
    "pixelfox",
    "skyrunner",
    "blockbuilder",
    "moonpie",
    "tigerlily",
    "captaincrunch",
    "nova",
    "redpanda",
    "zeldafan",
    "coolcat",
    "rocketboy",
    "starlight",
    "bananabread",
    "frostbite",
    "lucky",
    "shadowninja",
]

_LEET = str.maketrans({"o": "0", "e": "3", "a": "4", "i": "1", "s": "5"})


@dataclass(frozen=True, slots=True)
class SynthConversation:
    """One generated conversation and its truth.

    ``groomer`` is the sender whose pairs are positive (``None`` for a benign conversation);
    ``positive_ids`` are the ids of that sender's grooming-pattern lines (message-level truth,
    whether or not any rule catches their wording); ``stages`` the stages they went through.
    """

    conversation_id: str
    kind: str
    records: tuple[dict[str, Any], ...]
    groomer: str | None = None
    positive_ids: frozenset[str] = frozenset()
    stages: tuple[str, ...] = ()


def _obfuscate(text: str, rng: random.Random) -> str:
    """Leetspeak or letter spacing on one word: how real users dodge keyword filters."""
    words = text.split(" ")
    long = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not long:
        return text
    i = rng.choice(long)
    words[i] = words[i].translate(_LEET) if rng.random() < 0.6 else " ".join(words[i])
    return " ".join(words)


def _handles(rng: random.Random, n: int) -> list[str]:
    return [f"{h}{rng.randint(1, 999)}" for h in rng.sample(HANDLES, n)]


class _Builder:
    def __init__(self, cid: str, rng: random.Random) -> None:
        self.cid = cid
        self.rng = rng
        self.records: list[dict[str, Any]] = []
        self.clock = START_EPOCH + rng.randint(0, 10_000_000)

    def say(self, sender: str, recipient: str | None, text: str) -> str:
        mid = f"{self.cid}-{len(self.records)}"
        self.clock += self.rng.randint(5, 600)
        record: dict[str, Any] = {
            "conversation_id": self.cid,
            "message_id": mid,
            "sender": sender,
            "text": text,
            "timestamp": self.clock,
        }
        if recipient is not None:
            record["recipient"] = recipient
        self.records.append(record)
        return mid


def grooming_conversation(cid: str, rng: random.Random) -> SynthConversation:
    """A grooming-pattern chat: stages in phase order, spread over 20-80 messages."""
    groomer, kid = _handles(rng, 2)
    n_messages = rng.randint(20, 80)
    n_stages = rng.choice([2, 3, 3, 4, 4, 5, 5, 6, 7])
    chosen: list[str] = []
    per_phase = [list(p) for p in PHASES]
    while len(chosen) < n_stages:
        phase = per_phase[rng.randrange(len(per_phase))]
        if phase:
            chosen.append(phase.pop(rng.randrange(len(phase))))
    order = {s: i for i, phase in enumerate(PHASES) for s in phase}
    chosen.sort(key=lambda s: (order[s], rng.random()))
    turns = n_messages // 2
    slots = sorted(rng.sample(range(1, turns), min(len(chosen), turns - 1)))
    plan = dict(zip(slots, chosen, strict=False))
    b = _Builder(cid, rng)
    positive: set[str] = set()
    for turn in range(turns):
        stage = plan.get(turn)
        if stage is None:
            b.say(groomer, kid, rng.choice(SMALL_TALK))
            b.say(kid, groomer, rng.choice(KID_LINES))
            continue
        line = rng.choice(STAGE_LINES[stage])
        if rng.random() < 0.2:
            line = _obfuscate(line, rng)
        positive.add(b.say(groomer, kid, line))
        b.say(kid, groomer, rng.choice(KID_ANSWERS[stage]))
    return SynthConversation(
        cid, "grooming", tuple(b.records), groomer, frozenset(positive), tuple(chosen)
    )


def benign_conversation(cid: str, rng: random.Random) -> SynthConversation:
    """An ordinary chat of a random kind (two people), or a group chat (no recipient)."""
    kinds = [*BENIGN_KINDS, "group"]
    kind = rng.choice(kinds)
    b = _Builder(cid, rng)
    n_messages = rng.randint(10, 80)
    if kind == "group":
        people = _handles(rng, rng.randint(3, 5))
        for _ in range(n_messages):
            b.say(rng.choice(people), None, rng.choice(GROUP_LINES))
        return SynthConversation(cid, kind, tuple(b.records))
    a, c = _handles(rng, 2)
    lines_a, lines_b = BENIGN_KINDS[kind]
    filler = [*KID_LINES, *SMALL_TALK[10:]]
    for _ in range(n_messages // 2):
        i = rng.randrange(len(lines_a))
        if rng.random() < 0.5:
            b.say(a, c, lines_a[i])
            b.say(c, a, lines_b[i])
        else:
            b.say(a, c, rng.choice(filler))
            b.say(c, a, rng.choice(filler))
    return SynthConversation(cid, kind, tuple(b.records))


def corpus(n_benign: int = 300, n_grooming: int = 60, seed: int = 7) -> list[SynthConversation]:
    """A shuffled mix of benign and grooming-pattern conversations (deterministic per seed)."""
    rng = random.Random(seed)
    convs = [benign_conversation(f"b{seed}-{i}", rng) for i in range(n_benign)]
    convs += [grooming_conversation(f"g{seed}-{i}", rng) for i in range(n_grooming)]
    rng.shuffle(convs)
    return convs


def records(conversations: Iterable[SynthConversation]) -> list[dict[str, Any]]:
    """Every message record of ``conversations``, conversation by conversation."""
    return [r for c in conversations for r in c.records]


def write_jsonl(conversations: Sequence[SynthConversation], path: Path) -> int:
    """Write the conversations' messages as JSON Lines; returns the number of lines."""
    rows = records(conversations)
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return len(rows)
