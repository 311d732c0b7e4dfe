"""Hugging Face ``save_to_disk`` folders, read with pyarrow alone."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
from tests.readers.conftest import CAPTIONS, astronaut_png, jpeg

from childsafe.readers import HFReader, reader_for
from childsafe.readers.base import Reader
from childsafe.readers.testing import ReaderContract, read_all

IMAGE = pa.struct([("bytes", pa.binary()), ("path", pa.string())])


def write_split(folder: Path, sizes: list[int], first: int = 0) -> None:
    """What ``Dataset.save_to_disk`` writes: IPC stream files listed in ``state.json``."""
    folder.mkdir(parents=True)
    files, i = [], first
    for n, size in enumerate(sizes):
        name = f"data-{n:05d}-of-{len(sizes):05d}.arrow"
        table = pa.table(
            {
                "image": pa.array(
                    [{"bytes": jpeg(k % 8), "path": f"{k}.jpg"} for k in range(i, i + size)], IMAGE
                ),
                "text": [CAPTIONS[k % 4] for k in range(i, i + size)],
            }
        )
        with pa.ipc.new_stream(folder / name, table.schema) as w:
            for batch in table.to_batches(max_chunksize=2):
                w.write_batch(batch)
        files.append({"filename": name})
        i += size
    (folder / "state.json").write_text(json.dumps({"_data_files": files, "_split": None}))
    (folder / "dataset_info.json").write_text(json.dumps({"features": {}}))


@pytest.fixture
def dataset_dict(tmp_path: Path) -> Path:
    root = tmp_path / "captions"
    write_split(root / "train", [3, 2])
    write_split(root / "test", [2])
    (root / "dataset_dict.json").write_text(json.dumps({"splits": ["train", "test"]}))
    return root


class TestHFContract(ReaderContract):
    @pytest.fixture
    def reader(self) -> Reader:
        return HFReader()

    @pytest.fixture
    def source(self, dataset_dict: Path) -> str:
        return str(dataset_dict)

    @pytest.fixture
    def expected_items(self) -> int:
        return 7

    @pytest.fixture
    def expected_errors(self) -> int:
        return 0


def test_splits_rows_and_images(dataset_dict: Path) -> None:
    reader = HFReader()
    shards = reader.shards(str(dataset_dict))
    assert [(s.shard_id, s.start, s.stop) for s in shards] == [
        ("captions-train-00000", 0, 3),
        ("captions-train-00001", 3, 5),
        ("captions-test-00000", 0, 2),
    ]
    items = read_all(reader, shards)
    assert items[4].id == "captions-train-00001#4"
    assert items[4].data == jpeg(4) and items[4].text == CAPTIONS[0]
    assert items[4].provenance is not None and items[4].provenance.member == "4.jpg"
    assert items[4].provenance.row == 4


def test_single_dataset_folder(tmp_path: Path) -> None:
    write_split(tmp_path / "ds", [2])
    assert isinstance(reader_for(str(tmp_path / "ds")), HFReader)
    assert len(read_all(HFReader(), HFReader().shards(str(tmp_path / "ds")))) == 2


def test_real_save_to_disk(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    import io

    from PIL import Image

    images = [Image.open(io.BytesIO(astronaut_png())), Image.open(io.BytesIO(jpeg(1)))]
    ds = datasets.Dataset.from_dict(
        {"image": images, "caption": ["an astronaut", "a gradient"]},
        features=datasets.Features(
            {"image": datasets.Image(), "caption": datasets.Value("string")}
        ),
    )
    datasets.DatasetDict({"train": ds}).save_to_disk(str(tmp_path / "real"))
    reader = reader_for(str(tmp_path / "real"))
    items = read_all(reader, reader.shards(str(tmp_path / "real")))
    assert [i.text for i in items] == ["an astronaut", "a gradient"]
    assert all(i.data and i.error is None for i in items)


def test_checked_in_datasets_5_2_output() -> None:
    """A ``DatasetDict.save_to_disk`` made by ``datasets`` 5.2.0 (generated gradient images)."""
    root = str(Path(__file__).parent / "data" / "hf_datasets_5_2")
    reader = reader_for(root)
    items = read_all(reader, reader.shards(root))
    assert [i.id for i in items] == [
        "hf_datasets_5_2-train/10",
        "hf_datasets_5_2-train/11",
        "hf_datasets_5_2-train/12",
        "hf_datasets_5_2-validation/10",
    ]
    assert [i.text for i in items] == ["a cat on a sofa", "tea", None, "a cat on a sofa"]
    assert all(i.data and i.data.startswith(b"\x89PNG") and i.error is None for i in items)
