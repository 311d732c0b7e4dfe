"""The hosted-model scanner: safetensors headers, LoRA training metadata and model cards,
read without loading weights, turned into one triage row per model (see ``scanner.py``)."""

from childsafe.assess.models.base import ModelFinding, ModelResult, Source
from childsafe.assess.models.scanner import model_files, scan_file, scan_folder, scan_listing

__all__ = [
    "ModelFinding",
    "ModelResult",
    "Source",
    "model_files",
    "scan_file",
    "scan_folder",
    "scan_listing",
]
