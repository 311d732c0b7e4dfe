"""The words behind the pattern signals, with their weights (data only; the logic is in
``patterns.py``).

Why a short hand-written list: every entry is a decision a reviewer can read and argue with,
and its weight says how strongly the word alone suggests its kind (an explicit age is strong,
"teen" is ambiguous, "kid" is also a verb). The sexual-context list is deliberately *mild*:
non-graphic adult-only words that say "sexual content is being asked for or described",
never descriptions of acts; the combination with a minor indicator is what the risk model
scores. Weights are hand-set priors for triage (not fitted); the learned heads decide how
much to trust them.

All keys are in folded form (``normalize.py``): lower case ASCII, no accents.
"""

from __future__ import annotations

MINOR = "minor"
SEXUAL = "sexual"
ADULT = "adult"

# Signal names. Minor: explicit ages, ages in words, school grades, child nouns, age-coded
# slang, and two *cancellable* names whose reading an adult indicator overrides ("18+ teen"):
# ``youth_term`` (ambiguous words: "teen", "schoolgirl", "baby") and ``age_limit`` ("under 18",
# which disclaimers use). Sexual: lexicon words, multi-word euphemisms, emoji.
CANCELLABLE = frozenset({"youth_term", "age_limit", "emoji"})

Entry = tuple[str, str, float]  # (kind, name, weight)


def _entries(kind: str, name: str, spec: str) -> dict[str, Entry]:
    """``"word word2:0.5 ..."`` → entries; the weight follows the last colon, per group."""
    out: dict[str, Entry] = {}
    for group in spec.split(";"):
        words, _, weight = group.rpartition(":")
        for word in words.split():
            out[word] = (kind, name, float(weight))
    return out


TERMS: dict[str, Entry] = {
    **_entries(
        MINOR,
        "child_noun",
        "child children kiddie kiddies:0.6; kid kids kiddo kiddos babies:0.5;"
        "toddler toddlers:0.8; infant infants newborn newborns:0.7; preteen preteens:0.85;"
        "tween tweens minors:0.6; underage:0.9; schoolchild schoolchildren schoolkid "
        "schoolkids:0.7; youngster youngsters juvenile juveniles:0.5; prepubescent:0.9;"
        "pubescent:0.6; grandchild grandchildren grandkid grandkids:0.4",
    ),
    **_entries(
        MINOR,
        "youth_term",
        "teen:0.35; teens teenage:0.3; teenaged:0.35; teenager teenagers:0.45;"
        "adolescent adolescents:0.5; schoolgirl schoolgirls schoolboy schoolboys:0.5;"
        "daughter stepdaughter niece nephew:0.3; baby son:0.2",
    ),
    **_entries(
        MINOR,
        "school_grade",
        "kindergarten preschool:0.7; kindergartener kindergartner kindergarteners "
        "kindergartners preschooler preschoolers:0.8; elementary:0.35; daycare:0.5",
    ),
    **_entries(MINOR, "age_coded", "loli lolis:0.85; lolicon shotacon jailbait:0.9; shota:0.6"),
    **_entries(
        SEXUAL,
        "sexual_term",
        "nsfw onlyfans kinky:0.7; nude:0.75; nudes lewds hentai pornography:0.85;"
        "nudity fetish:0.6; naked topless:0.7; sexy sexier undressed undressing:0.6;"
        "lingerie undress seduce seducing seductive seductively sexual sexually:0.55;"
        "erotic erotica sexualized sexualised sexting r34 rule34 horny:0.8; lewd:0.75;"
        "porn porno pornographic:0.9; xxx:0.6; sex sext:0.5; explicit:0.35; intimate:0.3;"
        "suggestive panties:0.45; provocative:0.35; underwear:0.25; bikini:0.2",
    ),
    **_entries(ADULT, "adult_term", "adult adults:0.5"),
}
"""Single folded words → (kind, name, weight)."""

# Multi-word and context rules: trigger word → (regex matched at the trigger, kind, name,
# weight). The regex runs on folded text from the trigger word's first character.
_S = r"[\s-]+"  # between words: space or hyphen
_MEDIA = r"(?:pics?|photos?|pictures?|images?|videos?|vids?|selfies?|content)"
PHRASES: dict[str, tuple[tuple[str, str, str, float], ...]] = {
    "little": ((rf"little{_S}(?:girls?|boys?)", MINOR, "child_noun", 0.75),),
    "young": ((rf"young{_S}(?:girls?|boys?)", MINOR, "youth_term", 0.45),),
    "pre": ((r"pre[\s-]?teens?", MINOR, "child_noun", 0.85),),
    "school": (
        (r"school[\s-]?(?:girls?|boys?)", MINOR, "youth_term", 0.5),
        (r"school[\s-]?(?:children|child|kids?)", MINOR, "child_noun", 0.7),
    ),
    "middle": ((r"middle[\s-]?school(?:ers?)?", MINOR, "school_grade", 0.7),),
    "elementary": ((rf"elementary{_S}school(?:ers?)?", MINOR, "school_grade", 0.7),),
    "primary": ((rf"primary{_S}school(?:ers?)?", MINOR, "school_grade", 0.6),),
    "grade": ((rf"grade{_S}school(?:ers?)?", MINOR, "school_grade", 0.7),),
    "junior": ((rf"junior{_S}high(?:{_S}school)?", MINOR, "school_grade", 0.6),),
    "high": (
        (r"high[\s-]?schoolers?", MINOR, "youth_term", 0.45),
        (r"high[\s-]?school", MINOR, "youth_term", 0.35),
    ),
    "nursery": ((rf"nursery{_S}school", MINOR, "school_grade", 0.6),),
    "under": ((r"under[\s-]?age(?![a-z])(?!\s*(?:of\s*)?\d)", MINOR, "child_noun", 0.85),),
    "legal": ((rf"legal{_S}age", ADULT, "adult_term", 0.6),),
    "consenting": ((rf"consenting{_S}adults?", ADULT, "adult_term", 0.8),),
    "adult": (
        (
            rf"adult{_S}(?:content|videos?|films?|movies?|material|sites?)",
            SEXUAL,
            "euphemism",
            0.6,
        ),
    ),
    "mature": ((rf"mature{_S}(?:content|audiences?)", SEXUAL, "euphemism", 0.45),),
    "not": ((rf"not{_S}safe{_S}for{_S}work", SEXUAL, "euphemism", 0.7),),
    "rule": ((r"rule[\s-]?34(?!\d)", SEXUAL, "euphemism", 0.8),),
    "spicy": ((rf"spicy{_S}{_MEDIA}", SEXUAL, "euphemism", 0.5),),
    "no": ((rf"no{_S}cloth(?:es|ing)", SEXUAL, "euphemism", 0.6),),
    "without": ((rf"without{_S}cloth(?:es|ing)", SEXUAL, "euphemism", 0.6),),
    "wearing": ((rf"wearing{_S}nothing(?![a-z])", SEXUAL, "euphemism", 0.55),),
    "birthday": ((rf"birthday{_S}suits?", SEXUAL, "euphemism", 0.5),),
}

EMOJI: dict[str, tuple[tuple[str, float], ...]] = {
    "\U0001f476": ((MINOR, 0.4),),  # baby
    "\U0001f9d2": ((MINOR, 0.5),),  # child
    "\U0001f467": ((MINOR, 0.4),),  # girl
    "\U0001f466": ((MINOR, 0.4),),  # boy
    "\U0001f392": ((MINOR, 0.2),),  # school backpack
    "\U0001f3eb": ((MINOR, 0.3),),  # school
    "\U0001f351": ((SEXUAL, 0.35),),  # peach
    "\U0001f346": ((SEXUAL, 0.4),),  # aubergine
    "\U0001f4a6": ((SEXUAL, 0.25),),  # sweat droplets
    "\U0001f51e": ((SEXUAL, 0.5), (ADULT, 0.6)),  # no one under eighteen: also an adult gate
    "\U0001f608": ((SEXUAL, 0.15),),  # smiling face with horns
}
"""Emoji (original characters) → (kind, weight) signals named ``emoji``; weaker than words
because each has everyday meanings."""

ONES = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
TEENS = (
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
)
TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
ORDINALS = (
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
)


def number_words() -> dict[str, int]:
    """Spelled-out numbers 1–99 as single words ("twelve", "twenty"; compounds are parsed)."""
    out = {w: i + 1 for i, w in enumerate(ONES)}
    out.update({w: i + 10 for i, w in enumerate(TEENS)})
    out.update({w: 10 * (i + 2) for i, w in enumerate(TENS)})
    return out
