"""Build small LoRA-like .safetensors files for the hosted-model scanner tests.

Tags are the mildest words that exercise a rule ("child", "teen", "nsfw", "suggestive");
tensors are zeros. Malformed files are written by hand (``raw_safetensors``).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import save_file

LORA_TENSORS = {
    "lora_unet_down_blocks_0_attn1_to_q.lora_down.weight": np.zeros((4, 8), np.float16),
    "lora_unet_down_blocks_0_attn1_to_q.lora_up.weight": np.zeros((8, 4), np.float16),
    "lora_unet_down_blocks_0_attn1_to_q.alpha": np.zeros((), np.float32),
}
CHECKPOINT_TENSORS = {"model.diffusion_model.input_blocks.0.weight": np.zeros((3, 3), np.float32)}


def kohya_metadata(
    tags: Mapping[str, int],
    *,
    folder: str = "10_set",
    images: int = 50,
    repeats: int = 10,
    output_name: str | None = None,
    **extra: str,
) -> dict[str, str]:
    """kohya-ss style ``__metadata__`` for one dataset folder."""
    meta = {
        "ss_tag_frequency": json.dumps({folder: dict(tags)}),
        "ss_dataset_dirs": json.dumps({folder: {"n_repeats": repeats, "img_count": images}}),
        "ss_num_train_images": str(images * repeats),
        "ss_network_module": "networks.lora",
        "ss_base_model_version": "sd_v1",
    }
    if output_name is not None:
        meta["ss_output_name"] = output_name
    meta.update(extra)
    return meta


def write_lora(path: Path, metadata: Mapping[str, str] | None = None, tensors: Any = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors or LORA_TENSORS, str(path), metadata=dict(metadata) if metadata else None)
    return path


def raw_safetensors(
    path: Path, header: bytes, *, declared: int | None = None, tail: bytes = b""
) -> Path:
    """A hand-made file: 8-byte length (``declared`` or the real one), header bytes, tail."""
    n = len(header) if declared is None else declared
    path.write_bytes(struct.pack("<Q", n) + header + tail)
    return path
