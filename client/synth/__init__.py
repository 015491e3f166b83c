"""Synthetic Danish general practices: realistic, reproducible by seed, fully vectorised."""

from client.synth.federation import PracticeReport, synthesize_federation
from client.synth.practice import synthesize_practice
from client.synth.quality import QualityProfile, draw_quality

__all__ = [
    "PracticeReport",
    "QualityProfile",
    "draw_quality",
    "synthesize_federation",
    "synthesize_practice",
]
