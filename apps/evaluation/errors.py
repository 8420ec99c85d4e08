"""The one exception an evaluation raises for figures it cannot give honestly."""

from __future__ import annotations


class EvaluationError(Exception):
    """The evaluation cannot give honest figures (documents failed, reranker missing…)."""
