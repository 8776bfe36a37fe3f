"""Metrics against hand-computed examples and against scikit-learn."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from sklearn import metrics as skm
from synthetic import synthetic_probs

from aslrec.errors import DataError
from aslrec.evaluation import (
    EvaluationReport,
    classification_report,
    confusion_matrix,
    expected_calibration_error,
    negative_log_likelihood,
    reliability_curve,
    topk_accuracy,
)

# Four samples, three classes; computed by hand in the comments.
Y = np.array([0, 0, 1, 2])
P = np.array(
    [
        [0.7, 0.2, 0.1],  # pred 0, right, conf .7
        [0.3, 0.6, 0.1],  # pred 1, wrong (true class ranked 2nd), conf .6
        [0.1, 0.8, 0.1],  # pred 1, right, conf .8
        [0.5, 0.1, 0.4],  # pred 0, wrong (true class ranked 2nd), conf .5
    ]
)
CLASSES = ["a", "b", "c"]


def _synthetic_calibration(
    n: int, c: int, shift: float, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Top-1 confidence ``conf``; the prediction is right with probability ``conf - shift``."""
    rng = np.random.default_rng(seed)
    conf = rng.uniform(0.35, 1.0, n)
    pred = rng.integers(0, c, n)
    probs = np.repeat(((1.0 - conf) / (c - 1))[:, None], c, axis=1)
    probs[np.arange(n), pred] = conf
    right = rng.uniform(size=n) < np.clip(conf - shift, 0.0, 1.0)
    other = (pred + rng.integers(1, c, n)) % c
    y = np.where(right, pred, other)
    return y, probs


def test_hand_example_report() -> None:
    r = classification_report(Y, P, CLASSES)
    assert r.n == 4
    assert r.top1 == pytest.approx(0.5)
    assert r.top5 == pytest.approx(1.0)
    assert r.top5_k == 3  # clipped to the class count
    np.testing.assert_array_equal(r.confusion, [[1, 1, 0], [0, 1, 0], [1, 0, 0]])
    np.testing.assert_allclose(r.precision, [0.5, 0.5, 0.0])
    np.testing.assert_allclose(r.recall, [0.5, 1.0, 0.0])
    np.testing.assert_allclose(r.f1, [0.5, 2 / 3, 0.0])
    np.testing.assert_array_equal(r.support, [2, 1, 1])
    assert r.macro_f1 == pytest.approx((0.5 + 2 / 3 + 0.0) / 3)
    assert r.weighted_f1 == pytest.approx((2 * 0.5 + 2 / 3) / 4)
    assert r.nll == pytest.approx(
        -(math.log(0.7) + math.log(0.3) + math.log(0.8) + math.log(0.4)) / 4
    )
    # Each sample sits in its own bin: ECE = mean |correct - conf|.
    assert r.ece == pytest.approx((0.3 + 0.6 + 0.2 + 0.5) / 4)


def test_hand_example_basic_functions() -> None:
    assert topk_accuracy(Y, P, 1) == pytest.approx(0.5)
    assert topk_accuracy(Y, P, 2) == pytest.approx(1.0)
    assert topk_accuracy(Y, P, 99) == pytest.approx(1.0)
    np.testing.assert_array_equal(confusion_matrix(Y, P), [[1, 1, 0], [0, 1, 0], [1, 0, 0]])
    # One bin: |accuracy - mean confidence| = |0.5 - 0.65|.
    assert expected_calibration_error(Y, P, bins=1) == pytest.approx(0.15)
    assert negative_log_likelihood(Y, P) == pytest.approx(skm.log_loss(Y, P))


def test_topk_ties_are_consistent_with_argmax() -> None:
    y = np.array([1, 0])
    p = np.array([[0.5, 0.5], [0.5, 0.5]])  # argmax picks class 0 on a tie
    assert topk_accuracy(y, p, 1) == pytest.approx(0.5)
    r = classification_report(y, p, ["x", "y"])
    assert r.top1 == pytest.approx(np.trace(r.confusion) / r.n)


def test_matches_sklearn_on_random_data() -> None:
    c = 12
    y, p = synthetic_probs(600, c)
    pred = p.argmax(axis=1)
    labels = list(range(c))
    r = classification_report(y, p, [f"s{i}" for i in range(c)])
    prec, rec, f1, sup = skm.precision_recall_fscore_support(
        y, pred, labels=labels, zero_division=0
    )
    np.testing.assert_allclose(r.precision, prec)
    np.testing.assert_allclose(r.recall, rec)
    np.testing.assert_allclose(r.f1, f1)
    np.testing.assert_array_equal(r.support, sup)
    assert r.macro_f1 == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert r.weighted_f1 == pytest.approx(skm.f1_score(y, pred, average="weighted"))
    np.testing.assert_array_equal(r.confusion, skm.confusion_matrix(y, pred, labels=labels))
    assert r.top1 == pytest.approx(skm.accuracy_score(y, pred))
    assert r.top5 == pytest.approx(skm.top_k_accuracy_score(y, p, k=5, labels=labels))
    assert topk_accuracy(y, p, 3) == pytest.approx(skm.top_k_accuracy_score(y, p, k=3))
    assert r.nll == pytest.approx(skm.log_loss(y, p, labels=labels))


def test_zero_support_class_does_not_crash() -> None:
    # Class "d" never occurs and is never predicted; class "c" occurs but is never predicted.
    y = np.array([0, 1, 1, 2])
    p = np.array(
        [
            [0.90, 0.05, 0.03, 0.02],
            [0.10, 0.80, 0.05, 0.05],
            [0.10, 0.70, 0.10, 0.10],
            [0.10, 0.60, 0.20, 0.10],
        ]
    )
    r = classification_report(y, p, ["a", "b", "c", "d"])
    d = r.per_class[3]
    assert (d.name, d.support, d.precision, d.recall, d.f1) == ("d", 0, 0.0, 0.0, 0.0)
    assert r.per_class[2].support == 1
    assert r.per_class[2].recall == 0.0
    # Macro F1 ignores the class absent from both truth and predictions, like sklearn.
    assert r.macro_f1 == pytest.approx(skm.f1_score(y, p.argmax(axis=1), average="macro"))
    assert all(math.isfinite(v) for v in (r.macro_f1, r.weighted_f1, r.ece, r.nll))


def test_ece_near_zero_when_calibrated_and_large_when_overconfident() -> None:
    y, p = _synthetic_calibration(20_000, 10, shift=0.0)
    assert expected_calibration_error(y, p) < 0.02
    y, p = _synthetic_calibration(20_000, 10, shift=0.25)
    ece = expected_calibration_error(y, p)
    assert 0.15 < ece < 0.35


def test_reliability_curve_bins() -> None:
    y, p = synthetic_probs(500, 8)
    curve = reliability_curve(y, p, bins=15)
    assert curve.bins == 15
    assert curve.edges.shape == (16,)
    assert curve.edges[0] == 0.0 and curve.edges[-1] == 1.0
    assert curve.n == 500
    empty = curve.count == 0
    assert np.all(curve.confidence[empty] == 0.0) and np.all(curve.accuracy[empty] == 0.0)
    full = ~empty
    lo, hi = curve.edges[:-1][full], curve.edges[1:][full]
    assert np.all((curve.confidence[full] > lo - 1e-12) & (curve.confidence[full] <= hi + 1e-12))
    assert curve.ece == pytest.approx(expected_calibration_error(y, p))
    assert curve.max_calibration_error >= curve.ece
    # Weighted mean of the bins' accuracies is the overall accuracy.
    acc = np.sum(curve.accuracy * curve.count) / curve.n
    assert acc == pytest.approx(np.mean(p.argmax(axis=1) == y))


def test_most_confused_summary_and_dict_round_trip() -> None:
    r = classification_report(Y, P, CLASSES)
    assert r.most_confused() == [("a", "b", 1), ("c", "a", 1)]
    assert r.most_confused(1) == [("a", "b", 1)]
    assert r.most_confused(0) == []
    line = r.summary_line()
    assert "\n" not in line and "top1=50.00%" in line and "top3=" in line

    d = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    assert d["classes"] == CLASSES
    assert d["confusion_matrix"] == [[1, 1, 0], [0, 1, 0], [1, 0, 0]]
    assert d["per_class"][1] == {
        "class": "b",
        "precision": 0.5,
        "recall": 1.0,
        "f1": pytest.approx(2 / 3),
        "support": 1,
    }
    assert len(d["reliability"]["count"]) == 15
    back = EvaluationReport.from_dict(d)
    assert back.summary_line() == line
    np.testing.assert_array_equal(back.confusion, r.confusion)
    assert back.reliability.ece == pytest.approx(r.ece)


def test_most_confused_orders_by_count() -> None:
    y = np.array([0, 0, 0, 1, 2, 2])
    pred = np.array([1, 1, 2, 1, 0, 0])
    p = np.full((6, 3), 0.1)
    p[np.arange(6), pred] = 0.8
    r = classification_report(y, p, CLASSES)
    assert r.most_confused() == [("a", "b", 2), ("c", "a", 2), ("a", "c", 1)]


def test_accepts_float_labels_and_float32_probs() -> None:
    r = classification_report(Y.astype(np.float64), P.astype(np.float32), CLASSES)
    assert r.top1 == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("y", "p", "classes", "match"),
    [
        (Y, P[:3], CLASSES, "must match"),
        (Y[:, None], P, CLASSES, "1-D"),
        (Y, P[0], CLASSES, "2-D"),
        (Y, P, ["a", "b"], "class names"),
        (np.array([0, 0, 1, 3]), P, CLASSES, "outside"),
        (np.array([0, 0, 1, -1]), P, CLASSES, "outside"),
        (np.array([0.5, 0, 1, 2]), P, CLASSES, "integer"),
        (Y, np.log(P), CLASSES, "negative"),
        (Y, P * 3, CLASSES, "sum to 1"),
        (Y, np.where(P > 0.75, np.nan, P), CLASSES, "NaN"),
        (Y[:0], P[:0], CLASSES, "zero samples"),
    ],
)
def test_bad_inputs_raise_data_error(
    y: np.ndarray, p: np.ndarray, classes: list[str], match: str
) -> None:
    with pytest.raises(DataError, match=match):
        classification_report(y, p, classes)


def test_bad_k_and_bins() -> None:
    with pytest.raises(DataError, match="k must"):
        topk_accuracy(Y, P, 0)
    with pytest.raises(DataError, match="bins must"):
        reliability_curve(Y, P, bins=0)
    with pytest.raises(DataError, match="not an evaluation report"):
        EvaluationReport.from_dict({"classes": ["a"]})
