"""kohya-ss training metadata, modelspec fields and model cards."""

from __future__ import annotations

import json

import pytest

from childsafe.assess.models import lora as lora_module
from childsafe.assess.models.card import MAX_CARD_CHARS, parse_model_card
from childsafe.assess.models.lora import (
    DatasetDir,
    TagCount,
    looks_like_lora,
    parse_lora_metadata,
    split_list,
)


def test_full_kohya_metadata() -> None:
    meta = {
        "ss_output_name": "watercolor_v2",
        "ss_training_comment": "trained on my own paintings",
        "ss_base_model_version": "sdxl_base_v1-0",
        "ss_sd_model_name": "sd_xl_base_1.0.safetensors",
        "ss_num_train_images": "700",
        "ss_tag_frequency": json.dumps(
            {
                "10_paint": {"watercolor": 50, " lake": 20, "tree": 35},
                "5_sketch": {"watercolor": 10, "pencil": 20},
            }
        ),
        "ss_dataset_dirs": json.dumps(
            {
                "10_paint": {"n_repeats": 10, "img_count": 50},
                "5_sketch": {"n_repeats": 5, "img_count": 40},
            }
        ),
        "modelspec.title": "Watercolor",
        "modelspec.description": "Soft watercolor landscapes",
        "modelspec.author": "Ana",
        "modelspec.license": "CC-BY-4.0",
        "modelspec.tags": "style, watercolor ,  landscape",
        "modelspec.trigger_phrase": "wtrclr, soft paint",
    }
    m = parse_lora_metadata(meta)
    assert m.has_training_metadata and "ss_tag_frequency" in m.training_keys
    assert m.output_name == "watercolor_v2" and m.base_model_version == "sdxl_base_v1-0"
    assert m.base_model == "sd_xl_base_1.0.safetensors" and m.num_train_images == 700
    assert (m.title, m.description, m.author, m.license) == (
        "Watercolor",
        "Soft watercolor landscapes",
        "Ana",
        "CC-BY-4.0",
    )
    assert m.modelspec_tags == ("style", "watercolor", "landscape")
    assert m.trigger_phrases == ("wtrclr", "soft paint")
    assert TagCount("10_paint", "lake", 20) in m.tags  # tag names are stripped
    assert m.tags[0] == TagCount("10_paint", "watercolor", 50)  # most frequent first
    assert m.dataset_dirs == (DatasetDir("10_paint", 10, 50), DatasetDir("5_sketch", 5, 40))
    assert m.images_in("5_sketch") == 40 and m.images_in("nope") is None
    assert m.tag_totals()["watercolor"] == 60
    assert m.top_tags(2) == [("watercolor", 60), ("tree", 35)]
    assert m.problems == () and m.notes == ()


def test_ss_datasets_subsets_and_class_tokens() -> None:
    datasets = [
        {
            "is_dreambooth": True,
            "num_train_images": 60,
            "subsets": [
                {
                    "image_dir": "/home/u/train/6_mychar",
                    "img_count": 10,
                    "num_repeats": 6,
                    "class_tokens": "mychar person",
                },
                "not a subset",
            ],
            "tag_frequency": {"6_mychar": {"smile": 7, "outdoors": 3}},
        }
    ]
    m = parse_lora_metadata({"ss_datasets": json.dumps(datasets)})
    assert m.dataset_dirs == (DatasetDir("6_mychar", 6, 10),)  # the folder's base name
    assert TagCount("6_mychar", "smile", 7) in m.tags
    assert m.trigger_phrases == ("mychar person",)
    assert m.images_in("6_mychar") == 10


def test_both_sources_merge_without_double_counting() -> None:
    freq = {"1_a": {"cat": 5}}
    meta = {
        "ss_tag_frequency": json.dumps(freq),
        "ss_datasets": json.dumps([{"tag_frequency": freq}]),
    }
    m = parse_lora_metadata(meta)
    assert m.tags == (TagCount("1_a", "cat", 5),)


@pytest.mark.parametrize(
    ("meta", "needle"),
    [
        ({"ss_tag_frequency": "{broken"}, "ss_tag_frequency is not valid JSON"),
        ({"ss_tag_frequency": "[1, 2]"}, "ss_tag_frequency is list"),
        ({"ss_tag_frequency": json.dumps({"a": {"x": -1, "y": "many", "": 3}})}, "3 entries"),
        ({"ss_tag_frequency": json.dumps({"a": 5})}, "1 entries"),
        ({"ss_dataset_dirs": "[]"}, "ss_dataset_dirs is list"),
        ({"ss_dataset_dirs": json.dumps({"a": 3})}, "ss_dataset_dirs['a']"),
        ({"ss_datasets": "{}"}, "ss_datasets is dict"),
        ({"ss_datasets": "[5]"}, "ss_datasets[0] is not an object"),
    ],
)
def test_malformed_fields_become_problems(meta: dict[str, str], needle: str) -> None:
    m = parse_lora_metadata(meta)
    assert any(needle in p for p in m.problems), m.problems


def test_counts_given_as_text_or_float_are_read() -> None:
    m = parse_lora_metadata({"ss_tag_frequency": json.dumps({"a": {"x": "4", "y": 2.0}})})
    assert {(t.tag, t.count) for t in m.tags} == {("x", 4), ("y", 2)}
    assert m.problems == ()


def test_no_metadata_at_all() -> None:
    m = parse_lora_metadata({})
    assert not m.has_training_metadata
    assert m.tags == () and m.trigger_phrases == () and m.output_name is None
    none_text = parse_lora_metadata({"ss_output_name": "None", "ss_num_train_images": "x"})
    assert none_text.output_name is None and none_text.num_train_images is None


def test_tag_count_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lora_module, "MAX_TAGS", 100)
    tags = {f"tag{i}": i + 1 for i in range(250)}
    m = parse_lora_metadata({"ss_tag_frequency": json.dumps({"d": tags})})
    assert len(m.tags) == 100
    assert m.tags[0] == TagCount("d", "tag249", 250)  # the most frequent are kept
    assert m.notes and "250 dataset tags" in m.notes[0]
    assert m.problems == ()


def test_looks_like_lora() -> None:
    assert looks_like_lora(["lora_unet_mid.lora_down.weight"])
    assert looks_like_lora(["base_model.model.q_proj.lora_A.weight"])
    assert looks_like_lora(["lora_te1_text_model.hada_w1_a"])
    assert not looks_like_lora(["model.diffusion_model.out.0.weight", "first_stage.alpha_x"])
    assert not looks_like_lora([])


def test_split_list() -> None:
    assert split_list(" a, b ,,c ") == ("a", "b", "c")
    assert split_list(None) == () and split_list("") == ()


# --- model cards ---------------------------------------------------------------------------


def test_card_front_matter_and_body() -> None:
    card = parse_model_card(
        "\ufeff---\n"
        "license: openrail\n"
        "tags:\n"
        "  - lora\n"
        "  - 'watercolor'\n"
        "base_model: stabilityai/sdxl  # a comment\n"
        "instance_prompt: wtrclr style\n"
        "widget: [a, b]\n"
        "model-index:\n"
        "  - name: x\n"
        "    results: []\n"
        "---\n"
        "# Watercolor LoRA\n\nSoft paintings of lakes.\n"
    )
    assert card.values("license") == ("openrail",)
    assert card.tags == ("lora", "watercolor")
    assert card.values("base_model") == ("stabilityai/sdxl",)
    assert card.values("instance_prompt") == ("wtrclr style",)
    assert card.values("widget") == ("a", "b")
    assert card.title == "Watercolor LoRA"
    assert "Soft paintings" in card.text and "license" not in card.text
    assert "model-index" in card.front_matter_text
    assert card.problems == ()


def test_card_without_front_matter_and_unclosed() -> None:
    plain = parse_model_card("Just text about a lake.")
    assert plain.front_matter == {} and plain.text == "Just text about a lake."
    assert plain.title is None and plain.tags == ()
    unclosed = parse_model_card("---\ntags: [a]\nno end here")
    assert unclosed.front_matter == {} and "never closed" in unclosed.problems[0]
    assert "tags: [a]" in unclosed.text
    titled = parse_model_card("---\nmodel_name: Lakes\n---\n# Other")
    assert titled.title == "Lakes"


def test_huge_card_is_bounded() -> None:
    card = parse_model_card("x" * (MAX_CARD_CHARS + 10))
    assert len(card.text) == MAX_CARD_CHARS
    assert "characters" in card.problems[0]
