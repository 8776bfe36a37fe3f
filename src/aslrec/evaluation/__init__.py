"""Evaluation: metrics from softmax probabilities, figures, and a one-call report writer.

Importing this package loads NumPy only; matplotlib is imported inside the plotting functions
the first time one is called.
"""

from __future__ import annotations

from aslrec.evaluation.metrics import (
    DEFAULT_BINS,
    ClassMetrics,
    EvaluationReport,
    ReliabilityCurve,
    classification_report,
    confusion_matrix,
    expected_calibration_error,
    negative_log_likelihood,
    reliability_curve,
    topk_accuracy,
)
from aslrec.evaluation.plots import (
    plot_confusion_matrix,
    plot_reliability_curves,
    plot_reliability_diagram,
    plot_training_history,
)
from aslrec.evaluation.report import write_evaluation, write_per_class_csv

__all__ = [
    "DEFAULT_BINS",
    "ClassMetrics",
    "EvaluationReport",
    "ReliabilityCurve",
    "classification_report",
    "confusion_matrix",
    "expected_calibration_error",
    "negative_log_likelihood",
    "plot_confusion_matrix",
    "plot_reliability_curves",
    "plot_reliability_diagram",
    "plot_training_history",
    "reliability_curve",
    "topk_accuracy",
    "write_evaluation",
    "write_per_class_csv",
]
