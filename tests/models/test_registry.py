"""Every registered model: builds, output shape, parameter count, padding invariance."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from aslrec.data.augment import mirror_batch
from aslrec.errors import ConfigError
from aslrec.landmarks.clip import LEFT, RIGHT
from aslrec.models import count_parameters, create_model, list_models

# Parameter counts for 77 classes; the seed's is the card's published figure.
EXPECTED_PARAMETERS = {
    "seed": 3_258_574,
    "seed-baseline": 323_977,
    "isl-hybrid": 934_091,
    "isl-transformer": 769_325,
    # random until fitted: 4 support vectors per class, 104 features (2 hands x 52)
    "handshape-svm": 308 * 104 + 308 * 77 + 77 * 77 + 1,
}


def test_every_model_has_an_expected_count() -> None:
    assert set(list_models()) == set(EXPECTED_PARAMETERS)


@pytest.mark.parametrize("name", list_models())
def test_model_shapes_and_parameters(name: str) -> None:
    torch.manual_seed(0)
    model = create_model(name, num_classes=77).eval()
    assert count_parameters(model) == EXPECTED_PARAMETERS[name]
    landmarks = torch.randn(3, 30, 2, 21, 3)
    mask = torch.ones(3, 30)
    mask[1, 17:] = 0
    with torch.no_grad():
        logits = model(landmarks, mask)
    assert logits.shape == (3, 77)
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("name", list_models())
def test_padded_frames_do_not_change_logits(name: str) -> None:
    torch.manual_seed(0)
    model = create_model(name, num_classes=10).eval()
    landmarks = torch.randn(4, 30, 2, 21, 3)
    mask = torch.ones(4, 30)
    mask[0, 20:] = 0  # trailing padding
    mask[1, ::3] = 0  # holes
    mask[2, 1:] = 0  # a single frame
    changed = landmarks.clone()
    changed[mask == 0] = torch.randn_like(changed[mask == 0]) * 10
    with torch.no_grad():
        assert torch.allclose(model(landmarks, mask), model(changed, mask), atol=1e-5)


@pytest.mark.parametrize("answer", ["mean", "confident", "one_view", "natural"])
@pytest.mark.parametrize("name", list_models())
def test_mirror_invariant_models_answer_a_mirror_alike(name: str, answer: str) -> None:
    """Wrapped, every model gives exactly one answer for an input and its mirror image, adds
    no parameters, and still tells different inputs apart."""
    torch.manual_seed(0)
    bare = create_model(name, num_classes=7)
    model = create_model(name, num_classes=7, mirror_invariant=True, mirror_answer=answer).eval()
    assert count_parameters(model) == count_parameters(bare)
    landmarks = torch.randn(3, 30, 2, 21, 3)
    landmarks[0, :, 0] = 0  # one hand only, as in most clips
    mask = torch.ones(3, 30)
    mask[2, 12:] = 0
    with torch.no_grad():
        logits = model(landmarks, mask)
        assert torch.allclose(logits, model(mirror_batch(landmarks), mask), atol=1e-5)
        if answer == "mean":
            assert not torch.allclose(logits[0], logits[1], atol=1e-3)
        else:  # one view per clip, from random weights whose logits are all small
            assert (logits[0] - logits[1]).abs().max() > 1e-4


def test_the_confident_answer_is_the_surer_view_and_trains_unmirrored() -> None:
    """``mirror_answer="confident"``: in eval, each clip's logits are those of whichever of
    its two views has the larger top probability (never a blend of two different views); in
    training, the wrapped model sees the clips as given, so it trains as the bare model does."""
    torch.manual_seed(0)
    model = create_model("isl-hybrid", 7, mirror_invariant=True, mirror_answer="confident")
    landmarks = torch.randn(6, 30, 2, 21, 3)
    landmarks[:3, :, 0] = 0
    mask = torch.ones(6, 30)
    model.eval()
    with torch.no_grad():
        logits = model(landmarks, mask)
        views = model.model(landmarks, mask), model.model(mirror_batch(landmarks), mask)
    surer = [v.log_softmax(dim=-1).amax(dim=-1) for v in views]
    expected = torch.where((surer[0] >= surer[1])[:, None], *views)
    assert torch.allclose(logits, expected, atol=1e-6)
    assert (surer[0] > surer[1]).any() and (surer[0] < surer[1]).any()  # both views chosen
    model.train()
    torch.manual_seed(1)
    trained = model(landmarks, mask)
    torch.manual_seed(1)
    assert torch.equal(trained, model.model(landmarks, mask))


def test_the_natural_answer_reads_the_view_its_score_prefers_and_trains_unmirrored() -> None:
    """``mirror_answer="natural"``: in eval, each clip's logits are the wrapped model's on the
    view its fitted score prefers (one pass), the same view for a clip and for its mirror image,
    both views chosen somewhere; in training, the clips as given."""
    torch.manual_seed(0)
    model = create_model("isl-hybrid", 7, mirror_invariant=True, mirror_answer="natural")
    landmarks = torch.randn(8, 30, 2, 21, 3)
    landmarks[:4, :, LEFT] = 0
    mask = torch.ones(8, 30)
    mask[6, 20:] = 0
    with torch.no_grad():
        model.natural.weight.copy_(torch.randn_like(model.natural.weight))
    model.eval()
    with torch.no_grad():
        logits = model(landmarks, mask)
        mirrored = mirror_batch(landmarks)
        views = model.model(landmarks, mask), model.model(mirrored, mask)
        prefer = model.natural(mirrored, mask) > model.natural(landmarks, mask)
        assert torch.equal(logits, model(mirrored, mask))
    expected = torch.where(prefer[:, None], views[1], views[0])
    assert torch.allclose(logits, expected, atol=1e-6)
    assert prefer.any() and not prefer.all()
    model.train()
    torch.manual_seed(1)
    trained = model(landmarks, mask)
    torch.manual_seed(1)
    assert torch.equal(trained, model.model(landmarks, mask))


def test_one_view_answers_with_the_canonical_view_alone_and_trains_as_the_mean() -> None:
    """``mirror_answer="one_view"``: in eval, each clip's logits are the wrapped model's on one
    of its two views (one pass), the same view for the clip and for its mirror image, and the
    view preprocessing keeps when the right hand clearly leads; in training, each clip is
    mirrored with probability 1/2, as the mean's training does."""
    torch.manual_seed(0)
    model = create_model("isl-hybrid", 7, mirror_invariant=True, mirror_answer="one_view")
    mean = create_model("isl-hybrid", 7, mirror_invariant=True)
    mean.load_state_dict(model.state_dict())
    landmarks = torch.randn(8, 30, 2, 21, 3)
    landmarks[:2, :, LEFT] = 0  # right hand only: its own canonical view
    landmarks[2:4, :, RIGHT] = 0  # left hand only: the mirror is
    landmarks[4, :, LEFT] = landmarks[4, :, RIGHT] * 3  # the left hand moves 3 times as much
    landmarks[5, :, LEFT] = landmarks[5, :, RIGHT]  # a clip that is its own mirror image
    landmarks[5, :, LEFT, :, 0] *= -1
    mask = torch.ones(8, 30)
    model.eval()
    with torch.no_grad():
        logits = model(landmarks, mask)
        views = model.model(landmarks, mask), model.model(mirror_batch(landmarks), mask)
    chosen = [0 if torch.allclose(logits[i], views[0][i]) else 1 for i in range(8)]
    assert all(torch.allclose(logits[i], views[c][i]) for i, c in enumerate(chosen))
    assert chosen[:5] == [0, 0, 1, 1, 1] and set(chosen[6:]) <= {0, 1}
    assert torch.equal(landmarks[5], mirror_batch(landmarks[5:6])[0])
    with torch.no_grad():
        assert torch.equal(model(mirror_batch(landmarks), mask), logits)  # exactly, one pass
    model.train()
    mean.train()
    torch.manual_seed(1)
    trained = model(landmarks, mask)
    torch.manual_seed(1)
    assert torch.equal(trained, mean(landmarks, mask))


def test_a_mirror_answer_needs_mirror_invariance() -> None:
    with pytest.raises(ConfigError, match="mirror_answer needs mirror_invariant"):
        create_model("isl-hybrid", 7, mirror_answer="confident")


@pytest.mark.parametrize("name", list_models())
def test_train_mode_step_runs(name: str) -> None:
    model = create_model(name, num_classes=5).train()
    mask = torch.ones(4, 30)
    mask[0, 10:] = 0
    loss = model(torch.randn(4, 30, 2, 21, 3), mask).logsumexp(dim=1).mean()
    loss.backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


def test_unknown_model_is_a_clear_error() -> None:
    with pytest.raises(
        ConfigError, match=r"unknown model 'nope'; known models: handshape-svm, isl-hybrid, "
    ):
        create_model("nope", num_classes=3)


def test_drop_path_skips_whole_clips_in_training_only() -> None:
    from aslrec.models.hybrid import DropPath

    torch.manual_seed(0)
    layer = DropPath(0.5)
    x = torch.ones(64, 7, 3)
    out = layer.train()(x)
    per_clip = out.flatten(1)
    assert set(per_clip.unique().tolist()) <= {0.0, 2.0}
    assert (per_clip == per_clip[:, :1]).all()  # a clip keeps or drops its whole branch
    assert 0 < (per_clip[:, 0] == 0).sum() < 64
    assert torch.equal(layer.eval()(x), x)


def test_hybrid_with_drop_path_is_deterministic_in_eval() -> None:
    model = create_model("isl-hybrid", num_classes=5, drop_path=0.2).eval()
    x, mask = torch.randn(2, 30, 2, 21, 3), torch.ones(2, 30)
    assert torch.equal(model(x, mask), model(x, mask))


def test_depthwise_inference_path_matches_the_convolution() -> None:
    """The gradient-free fast path (strided windows) computes exactly ``nn.Conv1d``'s result."""
    from aslrec.models.hybrid import TemporalDepthwiseConv

    torch.manual_seed(0)
    conv = TemporalDepthwiseConv(12, 17).eval()
    x = torch.randn(3, 12, 9)  # fewer frames than taps: padding on both sides matters
    reference = nn.functional.conv1d(x, conv.weight, conv.bias, padding=8, groups=12)
    with torch.inference_mode():
        fast = conv(x)
        conv.WINDOW_ELEMENTS = 2 * 12 * 9 * 17  # two clips per step: steps of 2 and 1 clips
        stepped = conv(x)
    assert torch.allclose(fast, reference, atol=1e-5)
    assert torch.allclose(stepped, reference, atol=1e-5)
    assert torch.equal(conv(x), reference)  # grad enabled: nn.Conv1d's own kernel


def test_hybrid_gives_the_same_logits_with_and_without_gradients() -> None:
    torch.manual_seed(0)
    model = create_model("isl-hybrid", num_classes=7).eval()
    x, mask = torch.randn(2, 30, 2, 21, 3), torch.ones(2, 30)
    mask[1, 12:] = 0
    with torch.inference_mode():
        fast = model(x, mask)
    assert torch.allclose(fast, model(x, mask), atol=1e-5)
