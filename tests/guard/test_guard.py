"""The guard around toy generators: an echo text model and toy image pipelines."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageOps
from tests.screening.samples import ADULT, BENIGN, RISKY, bank_photo, photo

from childsafe.config import Settings
from childsafe.errors import ScreenError
from childsafe.guard import Blocked, Guard, GuardResult
from childsafe.guard.result import HELD_FOR_REVIEW
from childsafe.policy.document import DEFAULT_POLICY, PolicyDocument
from childsafe.screening.base import Source, Subject
from childsafe.screening.memory_log import MemoryDecisionLog
from childsafe.screening.policies import static_policy
from childsafe.screening.screener import Screener
from childsafe.storage import SqlBankStore, open_store


@pytest.fixture
def bank_store(tmp_path: Path) -> Iterator[SqlBankStore]:
    store = open_store(f"sqlite:///{tmp_path / 'banks.db'}")
    bank_photo(store, "known", "astronaut", tmp_path)  # the "unsafe" image (benign, banked)
    yield store
    store.close()


@pytest.fixture
def log() -> MemoryDecisionLog:
    return MemoryDecisionLog()


@pytest.fixture
def screener(bank_store: SqlBankStore, settings: Settings, log: MemoryDecisionLog) -> Screener:
    return Screener(banks_for=lambda t: bank_store, settings=settings, decision_log=log)


class Echo:
    """A toy text model: returns the prompt; counts calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, prompt: str, suffix: str = "") -> str:
        self.calls += 1
        return prompt + suffix


@dataclass
class PipelineOutput:
    """What a diffusers pipeline returns (``StableDiffusionPipelineOutput``-like)."""

    images: list[Image.Image]
    nsfw_content_detected: list[bool] | None = None


class ToyPipeline:
    """Returns the given photos whatever the prompt; counts calls and keyword arguments."""

    def __init__(self, *names: str) -> None:
        self.names = names
        self.calls: list[dict[str, Any]] = []

    def __call__(self, prompt: str, **kwargs: Any) -> PipelineOutput:
        self.calls.append(kwargs)
        return PipelineOutput([photo(n).copy() for n in self.names])


class Marker:
    """Stands in for provenance marking: records what it marked and flips the image."""

    def __init__(self) -> None:
        self.marked: list[Image.Image] = []

    def __call__(self, image: Image.Image) -> Image.Image:
        self.marked.append(image)
        return ImageOps.mirror(image)


def test_benign_text_round_trip_is_logged_as_guard(
    screener: Screener, log: MemoryDecisionLog
) -> None:
    guard = Guard(screener, subject=Subject(user_id="u1"))
    echo = Echo()
    result = guard.text(echo)(BENIGN, suffix=" — sure!")
    assert isinstance(result, GuardResult)
    assert (result.output, result.allowed, result.withheld) == (BENIGN + " — sure!", True, 0)
    assert [v.kind.value for v in result.verdicts] == ["prompt", "generated_text"]
    entries = log.list("default")
    assert {e.source for e in entries} == {Source.GUARD}
    assert {e.request_id for e in entries} == {
        f"{result.generation_id}.prompt",
        f"{result.generation_id}.output.0",
    }
    assert all(e.subject.user_id == "u1" for e in entries)


def test_a_risky_prompt_never_reaches_the_model(screener: Screener) -> None:
    echo = Echo()
    guarded = Guard(screener).text(echo)
    with pytest.raises(Blocked) as info:
        guarded(RISKY)
    assert echo.calls == 0
    blocked = info.value
    assert blocked.stage == "prompt"
    assert blocked.message == DEFAULT_POLICY.messages["prevention"]
    assert blocked.verdict.decision == "block" and blocked.verdict.create_case
    assert len(blocked.verdicts) == 1


def test_non_raising_mode_returns_the_refusal(screener: Screener) -> None:
    echo = Echo()
    result = Guard(screener, raise_on_block=False).text(echo)(RISKY)
    assert (result.output, result.allowed, result.stage) == (None, False, "prompt")
    assert result.message == DEFAULT_POLICY.messages["prevention"]
    per_call = Guard(screener).text(echo, raise_on_block=False)(RISKY)
    assert per_call.allowed is False


def test_a_risky_output_is_withheld(screener: Screener) -> None:
    @Guard(screener).text
    def unsafe_by_design(prompt: str) -> str:
        return RISKY  # ignores a benign prompt

    with pytest.raises(Blocked) as info:
        unsafe_by_design(BENIGN)
    assert info.value.stage == "output"
    assert info.value.message == DEFAULT_POLICY.messages["output_withheld"]
    assert [v.decision for v in info.value.verdicts] == ["allow", "block"]


def test_decorator_with_options(screener: Screener) -> None:
    @Guard(screener).text(raise_on_block=False)
    def model(prompt: str) -> str:
        return RISKY

    result = model(BENIGN)
    assert (result.allowed, result.stage, result.withheld) == (False, "output", 1)


def test_generator_misuse_is_a_clear_error(screener: Screener) -> None:
    guarded = Guard(screener).text(lambda p: 42)  # type: ignore[arg-type,return-value]
    with pytest.raises(ScreenError, match=r"the generator returned int, expected str"):
        guarded(BENIGN)
    with pytest.raises(ScreenError, match=r"prompt is bytes, not str"):
        Guard(screener).text(Echo())(b"hi")
    with pytest.raises(ScreenError, match=r"text is empty"):
        Guard(screener).text(Echo())("   ")
    assert Guard(screener).text(lambda p: "")(BENIGN).output == ""


def test_review_is_withheld_unless_the_platform_allows_it(
    bank_store: SqlBankStore, settings: Settings
) -> None:
    data = DEFAULT_POLICY.to_dict()
    data["rules"]["prompt"]["on_low_priority"] = {"outcome": "review"}
    policy = PolicyDocument.from_dict(data)
    screener = Screener(policies_for=static_policy(policy), settings=settings)
    with pytest.raises(Blocked) as info:
        Guard(screener).text(Echo())(ADULT)
    assert info.value.message == HELD_FOR_REVIEW
    assert info.value.verdict.decision == "review"
    result = Guard(screener, on_review="allow").text(Echo())(ADULT)
    assert result.output == ADULT


def test_benign_images_are_returned_and_marked(screener: Screener, log: MemoryDecisionLog) -> None:
    marker = Marker()
    pipe = ToyPipeline("coffee", "chelsea")
    result = Guard(screener, marker=marker).images(pipe)("a cup of coffee", num_images=2)
    assert pipe.calls == [{"num_images": 2}]
    assert result.output is not None and len(result.output) == 2
    assert len(marker.marked) == 2
    for original, returned in zip(marker.marked, result.output, strict=True):
        assert returned.tobytes() == ImageOps.mirror(original).tobytes()  # the marker's output
    assert [v.kind.value for v in result.verdicts] == [
        "prompt",
        "generated_image",
        "generated_image",
    ]
    assert all(v.scores[0].classifier == "image_risk" for v in result.output_verdicts)
    assert len(log.list("default")) == 3


def test_a_banked_output_is_withheld_and_never_marked(screener: Screener) -> None:
    marker = Marker()
    pipe = ToyPipeline("astronaut", "coffee")  # unsafe by design: the first one is banked
    result = Guard(screener, marker=marker).images(pipe)("a portrait")
    assert result.output is not None and len(result.output) == 1
    assert result.withheld == 1
    assert result.message == DEFAULT_POLICY.messages["output_withheld"]
    assert len(marker.marked) == 1
    assert marker.marked[0].tobytes() == photo("coffee").tobytes()
    banked = result.output_verdicts[0]
    assert banked.decision == "block" and "match:known:pdq" in banked.reasons


def test_all_outputs_withheld_raises(screener: Screener) -> None:
    marker = Marker()
    guarded = Guard(screener, marker=marker).images(ToyPipeline("astronaut"))
    with pytest.raises(Blocked) as info:
        guarded("a portrait")
    assert info.value.stage == "output"
    assert marker.marked == []
    assert info.value.verdict.create_case


def test_a_risky_prompt_never_reaches_the_pipeline(screener: Screener) -> None:
    pipe = ToyPipeline("coffee")
    with pytest.raises(Blocked):
        Guard(screener).images(pipe)(RISKY)
    assert pipe.calls == []


@pytest.mark.parametrize(
    ("output", "error"),
    [
        (photo("coffee"), None),
        ([photo("coffee")], None),
        ("an image", r"the pipeline returned str; expected PIL images"),
        ([photo("coffee"), "x"], r"output 1 is str, not a PIL image"),
    ],
)
def test_pipeline_output_shapes(screener: Screener, output: Any, error: str | None) -> None:
    guarded = Guard(screener).images(lambda prompt: output)
    if error is None:
        result = guarded("a cup of coffee")
        assert result.output is not None and len(result.output) == 1
    else:
        with pytest.raises(ScreenError, match=error):
            guarded("a cup of coffee")


def test_unusual_image_modes_are_screened(screener: Screener) -> None:
    cmyk = photo("coffee").convert("CMYK")
    result = Guard(screener).images(lambda p: [cmyk])("a cup of coffee")
    assert result.output == [cmyk]  # screened as RGB, returned as made


def test_bad_tenant_fails_when_the_guard_is_built(screener: Screener) -> None:
    with pytest.raises(ScreenError, match="tenant 'No Such'"):
        Guard(screener, tenant="No Such")
    with pytest.raises(ValueError, match="on_review"):
        Guard(screener, on_review="maybe")  # type: ignore[arg-type]
    other = Guard(screener).with_subject(Subject(user_id="u2"))
    assert other.subject.user_id == "u2" and other.tenant == "default"
