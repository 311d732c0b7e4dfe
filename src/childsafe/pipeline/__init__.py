"""Scan pipeline steps: hash → match → classify → decide, chained by ``Pipeline``."""

from childsafe.pipeline.base import Record, Step
from childsafe.pipeline.chain import Pipeline, batched
from childsafe.pipeline.classify import ClassifyStep
from childsafe.pipeline.decide import DecideStep
from childsafe.pipeline.hash import HashStep
from childsafe.pipeline.match import MatchStep

__all__ = [
    "ClassifyStep",
    "DecideStep",
    "HashStep",
    "MatchStep",
    "Pipeline",
    "Record",
    "Step",
    "batched",
]
