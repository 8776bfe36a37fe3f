"""The seed card's usage snippet runs as written (its import line included) on our artifacts."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from aslrec.data.labels import CARD_CLASSES, LabelEncoder
from aslrec.models import ImprovedASLModel
from aslrec.runs.artifacts import save_weights

CARD = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "seed_model_card.txt"


def card_snippet() -> str:
    text = CARD.read_text(encoding="utf-8")
    match = re.search(r"^import torch\n.*?print\(f\"Predicted: .*?\"\)\n", text, re.S | re.M)
    assert match, "usage snippet not found in the card"
    return match.group(0)


@pytest.mark.skipif(not CARD.is_file(), reason="seed card not found")
def test_card_snippet_runs_unchanged(tmp_path: Path) -> None:
    snippet = card_snippet()
    assert "from train_asl_improved import ImprovedASLModel" in snippet
    torch.manual_seed(0)
    save_weights(tmp_path, ImprovedASLModel(num_classes=77), epoch=1, val_acc=0.0)
    LabelEncoder(list(CARD_CLASSES)).save(tmp_path / "label_encoder_classes.npy")
    result = subprocess.run(
        [sys.executable, "-c", snippet],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert result.returncode == 0, result.stderr
    predicted = result.stdout.strip().removeprefix("Predicted: ")
    assert predicted in CARD_CLASSES
