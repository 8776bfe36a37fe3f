"""The natural view fitted on real clips: it tells a clip from its mirror image on clips it
never saw, and its choice is one for a clip and its mirror."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from aslrec.data.augment import mirror_batch
from aslrec.data.labels import canonical_clips
from aslrec.data.loaders import load_dataset
from aslrec.data.preprocessing import arrays_for_model
from aslrec.models import create_model
from aslrec.models.symmetry import prefers_the_natural
from aslrec.runs.config import preset
from aslrec.training.natural_view import fit_natural_view, needs_natural_view


def test_fitted_on_wlasl_clips_it_finds_the_given_view_of_others(shared_data: Path) -> None:
    clips = canonical_clips(load_dataset(shared_data / "wlasl50_mp.npz"))
    spec = preset("best-fast").updated(handedness="chirality").preprocessing
    x, mask = arrays_for_model(clips, spec)
    fitted, held = np.arange(len(x)) % 5 != 0, np.arange(len(x)) % 5 == 0
    model = create_model("isl-hybrid", 50, mirror_invariant=True, mirror_answer="natural").eval()
    assert needs_natural_view(model)
    assert not needs_natural_view(create_model("isl-hybrid", 50, mirror_invariant=True))
    fit = fit_natural_view(model, x[fitted], mask[fitted])
    assert fit.pairs == fitted.sum() and fit.given_chosen > 0.9
    landmarks, frame_mask = torch.from_numpy(x[held]), torch.from_numpy(mask[held])
    mirrored = mirror_batch(landmarks)
    with torch.no_grad():
        chose_mirror = prefers_the_natural(model.natural, landmarks, mirrored, frame_mask)
        back = prefers_the_natural(model.natural, mirrored, landmarks, frame_mask)
    assert chose_mirror.float().mean() < 0.15  # mostly the view as recorded
    assert torch.equal(back, ~chose_mirror)  # the mirror's choice is the same view
