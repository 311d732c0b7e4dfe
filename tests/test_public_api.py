"""The curated public API is a promise: changing it must be deliberate."""

import childsafe


def test_all_is_pinned() -> None:
    assert sorted(childsafe.__all__) == sorted(
        [
            "__version__",
            "hash_file",
            "hash_paths",
            "get_hasher",
            "open_store",
            "import_file",
            "export_bank",
            "Matcher",
            "PDQIndex",
            "ExactIndex",
            "Settings",
            "Item",
            "HashValue",
            "FileHashes",
            "Match",
            "ChildsafeError",
            "get_classifier",
            "ClassifierResult",
            "Screener",
            "Guard",
            "Blocked",
            "load_policy_file",
        ]
    )


def test_every_name_resolves() -> None:
    for name in childsafe.__all__:
        assert getattr(childsafe, name) is not None, name


def test_unknown_name_is_an_attribute_error() -> None:
    try:
        childsafe.no_such_thing  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")
