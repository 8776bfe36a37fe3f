"""Mirror invariance as part of a model: a clip and its left-right mirror image get one answer.

A left-handed signer's sign is the mirror image of a right-handed signer's, and sources
disagree about which way round their video is (selfie views, data sets stored mirrored), so in
ASL a mirror changes who signed, not what was signed. Training on mirrored copies alone leaves
the two answers free to differ; :class:`MirrorAveraged` removes the freedom: in eval mode it
averages the wrapped model's logits over the input and its mirror
(:func:`aslrec.data.augment.mirror_batch`), so ``g(x) == g(mirror(x))`` holds exactly. It does so
for whole clips too, because aslrec's preprocessing of a mirrored clip gives either the
mirrored input (it is mirror-equivariant) or, when it mirrors left-handed signing onto the
right hand, the very same input: either way the pair {input, mirror} is the same.

Being inside the network, the averaging reaches every consumer unchanged: training's held-out
scores, the Recognizer, streaming, distillation teachers and the exported ONNX graph.
In training mode each clip goes through once, mirrored with probability 1/2 (the flip
augmentation), so training costs what the bare model costs; eval costs two passes, run as one
batch (one pass with ``answer="one_view"``).

``answer="confident"`` trains on clips as preprocessing gives them (never mirrored: preprocessing
already puts left-handed signing on the right hand) and answers with the view the model is surer
of, meant to keep a view training never showed from pulling the answer. Still exact: the choice
depends only on the pair, not on which of the two came in. Measured, it loses to the mean: a
two-handed sign's mirror image, never trained on, is often the surer and wrong view
(benchmarks/RESULTS.md, "Mirror answers"); an option for such comparisons, not a recipe.

``answer="one_view"`` trains as the mean does (each clip as it is or mirrored, half and half) and
answers with one pass on the pair's canonical view (:func:`prefers_the_mirror`): of a clip and its
mirror image, the one whose right slot leads, by a rule that swaps its verdict exactly when the
two are swapped. Why: weights trained on both views read either one alike, so the second pass
of the mean buys agreement the choice gives for free, at half the cost per clip (the browser's
WASM model time, issue #25).

``answer="natural"`` trains on clips as preprocessing gives them, as ``"confident"`` does, and
answers with one pass on whichever of a clip and its mirror image looks more like those training
clips (:class:`NaturalView`: a linear score on the clip's pooled frame features, fitted after
training, :mod:`aslrec.training.natural_view`). Why: the network then reads the view it was
trained on, which a fixed rule cannot find for two-handed signs whose hands move alike (one
view's rule picks the mirror of a third of WLASL-50's clips, and a network never trained on
mirrors misreads them), while a score of the difference between the two views swaps its sign
exactly when they are swapped.
"""

from __future__ import annotations

from typing import Literal, get_args

import torch
from torch import nn

from aslrec.data.augment import mirror_batch
from aslrec.data.preprocessing import DOMINANCE_MARGIN, RESTING_MOTION
from aslrec.landmarks.clip import LEFT, RIGHT
from aslrec.models.features import LandmarkFeatures

MirrorAnswer = Literal["mean", "confident", "one_view", "natural"]
MIRROR_ANSWERS: tuple[str, ...] = get_args(MirrorAnswer)


# Two hands' motions closer than this (relative) count as equal, so float rounding in the two
# views' reductions cannot tip the canonical choice one way for a clip and the other way for
# its mirror image; the exact tie-break decides those.
MOTION_TIE = 1e-4
# Two views' natural scores closer than this (relative to their size) count as equal, for the
# same reason; :func:`prefers_the_mirror` decides those (an unfitted score: every pair).
SCORE_TIE = 1e-4


def hand_statistics(
    landmarks: torch.Tensor, mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(seen, motion)``, each ``(B, 2)`` per hand slot: frames with the hand, and the spread
    of its centre over them (:func:`~aslrec.data.preprocessing.hand_motion`'s arithmetic on the
    model input, where absent hands are zero). A slot's figures depend on that slot alone, so
    a mirror image's right slot gets exactly its original's left-slot figures."""
    present = (landmarks.abs().sum(dim=(-1, -2)) > 0) & (mask[:, :, None] > 0)  # (B, T, 2)
    weight = present.to(landmarks.dtype)
    seen = weight.sum(dim=1)  # (B, 2)
    centres = landmarks[..., :2].mean(dim=-2)  # (B, T, 2, 2): per hand, x and y
    _, variance = frame_moments(centres, weight[..., None])
    motion = torch.where(seen > 1, variance.sum(dim=-1).sqrt(), torch.zeros_like(seen))
    return seen, motion


def frame_moments(values: torch.Tensor, weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and variance over the frames (dim 1) of ``values`` where ``weight`` (0 or 1,
    broadcast against them) is 1; zeros where no frame counts."""
    count = weight.sum(dim=1).clamp(min=1)
    mean = (values * weight).sum(dim=1) / count
    variance = ((values - mean[:, None]) ** 2 * weight).sum(dim=1) / count
    return mean, variance


def _leads(seen: torch.Tensor, motion: torch.Tensor, hand: int) -> torch.Tensor:
    """``(B,)``: whether slot ``hand`` leads by preprocessing's ``"moving"`` rule: seen in
    clearly more frames than the other hand and not resting while it moves."""
    other = LEFT if hand == RIGHT else RIGHT
    clearly_seen = seen[:, hand] > DOMINANCE_MARGIN * seen[:, other]
    return clearly_seen & ~(motion[:, hand] < RESTING_MOTION * motion[:, other])


def led_by_the_right_hand(landmarks: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``(B,)``: whether preprocessing's ``"moving"`` rule would mirror this input's mirror image
    back onto it (:func:`~aslrec.data.preprocessing.dominant_slot` of the mirror is LEFT): the
    right hand is seen in clearly more frames and is not resting. Such a clip and its mirror
    image reach the model as the same input, so its mirrored view is the input itself. The same
    arithmetic as the NumPy rule, on the model input (absent hands are zero)."""
    return _leads(*hand_statistics(landmarks, mask), RIGHT)


def prefers_the_mirror(
    landmarks: torch.Tensor, mirrored: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """``(B,)``: whether ``mirrored`` (each input's mirror image) is the canonical view of the
    pair, so that a clip and its mirror image choose the same one of the two.

    First the view preprocessing's ``"moving"`` rule keeps (:func:`led_by_the_right_hand`: the
    right hand clearly leads, one-handed signing mostly, where the input is that view); then the
    view whose right hand moves more (:data:`MOTION_TIE`); then, for a pair still tied, the view
    that is larger at the first landmark value where the two differ (exact: the mirror's
    differences are the input's negated). A pair of identical views may take either. The
    mirror's hand figures are the input's, slots swapped (:func:`hand_statistics`), so they are
    computed once: every node counts in the browser's WASM runtime.
    """
    seen, motion = hand_statistics(landmarks, mask)
    if_given, if_mirrored = _leads(seen, motion, RIGHT), _leads(seen, motion, LEFT)
    right, left = motion[:, RIGHT], motion[:, LEFT]
    tolerance = MOTION_TIE * torch.maximum(right, left)
    difference = (landmarks - mirrored).flatten(1)
    first = (difference != 0).to(torch.int64).argmax(dim=1, keepdim=True)
    mirror_larger = difference.gather(1, first)[:, 0] < 0
    left_leads, right_leads = left > right + tolerance, right > left + tolerance
    by_motion = left_leads | (~right_leads & mirror_larger)
    return if_mirrored | (~if_given & by_motion)


class NaturalView(nn.Module):
    """How much a view looks like the clips training saw: ``(pooled(view) / std) @ weight``,
    where ``pooled`` is the mean and the spread over the clip's frames of the hybrid's per-frame
    features (:class:`~aslrec.models.features.LandmarkFeatures`: hand shape, position, motion).
    Only differences between a clip's two views are used, so no offset is needed and the
    difference swaps its sign with the views. Buffers (``std``, ``weight``) are set by
    :func:`aslrec.training.natural_view.fit_natural_view`; zero weights score all views alike."""

    def __init__(self) -> None:
        super().__init__()
        self.features = LandmarkFeatures()
        size = 2 * self.features.num_features
        self.register_buffer("std", torch.ones(size))
        self.register_buffer("weight", torch.zeros(size))

    def pooled(self, landmarks: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``(B, 2 F)``: each feature's mean and spread over the clip's valid frames."""
        frames = self.features(landmarks)  # (B, T, F)
        mean, variance = frame_moments(frames, mask.to(frames.dtype)[..., None])
        return torch.cat([mean, variance.sqrt()], dim=-1)

    def forward(self, landmarks: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return (self.pooled(landmarks, mask) / self.std) @ self.weight


def prefers_the_natural(
    scorer: NaturalView, landmarks: torch.Tensor, mirrored: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """``(B,)``: whether ``mirrored`` scores as the more natural view of the pair (beyond
    :data:`SCORE_TIE`), :func:`prefers_the_mirror` deciding a tie; the same view for a clip and
    its mirror image."""
    given, mirror = scorer(torch.cat([landmarks, mirrored]), torch.cat([mask, mask])).chunk(2)
    tolerance = SCORE_TIE * (1 + given.abs() + mirror.abs())
    tied = (given - mirror).abs() <= tolerance
    # logical ops, not a where on booleans: ONNX Runtime has no Where kernel for those
    return (tied & prefers_the_mirror(landmarks, mirrored, mask)) | (~tied & (mirror > given))


class MirrorAveraged(nn.Module):
    """``model`` made exactly invariant to a left-right mirror of its input (eval mode).

    ``canonical``: a clip that preprocessing (``dominance="moving"``) would map onto itself when
    mirrored (:func:`led_by_the_right_hand`: one-handed signing, mostly) is its own mirrored
    view, in training and in eval. Why: its mirror image, the dominant hand in the LEFT slot,
    never reaches the model from real input, yet the plain wrapper trains on it half the time
    and averages it in; only two-handed clips need the second view.

    ``answer``: ``"mean"`` averages the two views' logits; ``"confident"`` takes the view with
    the larger top softmax probability (the mean of both on a tie) and trains on unmirrored
    clips; ``"one_view"`` runs the canonical view alone (:func:`prefers_the_mirror`) and trains
    as the mean does; ``"natural"`` runs the more natural view alone (:class:`NaturalView`,
    ``natural``) and trains on unmirrored clips (see the module docstring).
    """

    def __init__(self, model: nn.Module, *, canonical: bool = False, answer: str = "mean") -> None:
        super().__init__()
        if answer not in MIRROR_ANSWERS:
            raise ValueError(f"answer must be one of {MIRROR_ANSWERS}, got {answer!r}")
        self.model = model
        self.canonical = canonical
        self.answer = answer
        if answer == "natural":
            self.natural = NaturalView()

    def mirrored_view(self, landmarks: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Each input's mirror image (``canonical``: the input itself where it is its own)."""
        mirrored = mirror_batch(landmarks)
        if not self.canonical:
            return mirrored
        own = led_by_the_right_hand(landmarks, mask)[:, None, None, None, None]
        return torch.where(own, landmarks, mirrored)

    def embed_and_logits(
        self, landmarks: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The wrapped model's embedding and logits, each averaged over the two views in eval
        mode (so a prototype head on the embedding is mirror-invariant too)."""
        if self.training:
            if self.answer in ("confident", "natural"):
                return self.model.embed_and_logits(landmarks, mask)
            flip = torch.rand(landmarks.shape[0], device=landmarks.device) < 0.5
            views = torch.where(
                flip[:, None, None, None, None], self.mirrored_view(landmarks, mask), landmarks
            )
            return self.model.embed_and_logits(views, mask)
        if self.answer in ("one_view", "natural"):
            mirrored = self.mirrored_view(landmarks, mask)
            chosen = (
                prefers_the_mirror(landmarks, mirrored, mask)
                if self.answer == "one_view"
                else prefers_the_natural(self.natural, landmarks, mirrored, mask)
            ).reshape(-1, 1, 1, 1, 1)
            return self.model.embed_and_logits(torch.where(chosen, mirrored, landmarks), mask)
        features, logits = self.model.embed_and_logits(
            torch.cat([landmarks, self.mirrored_view(landmarks, mask)]), torch.cat([mask, mask])
        )
        if self.answer == "confident":
            weight = _confident_weight(logits)
            return _view_mix(features, weight), _view_mix(logits, weight)
        return _view_mean(features), _view_mean(logits)

    def forward(self, landmarks: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.embed_and_logits(landmarks, mask)[1]


def _view_mean(both: torch.Tensor) -> torch.Tensor:
    """The mean of a batch's first half (the inputs) and second half (their mirrors)."""
    original, mirrored = both.chunk(2)
    return (original + mirrored) / 2


def _confident_weight(both: torch.Tensor) -> torch.Tensor:
    """``(B, 1)``: 1 where the input's view is the surer one (larger top log-probability), 0
    where its mirror's is, 1/2 on a tie, so swapping the two views swaps the weights."""
    original, mirrored = both.log_softmax(dim=-1).amax(dim=-1).chunk(2)
    half = torch.full_like(original, 0.5)
    chosen = torch.where(original > mirrored, 1.0, torch.where(original < mirrored, 0.0, half))
    return chosen[:, None]


def _view_mix(both: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Each input's view weighted by ``weight``, its mirror's by ``1 - weight``."""
    original, mirrored = both.chunk(2)
    return weight * original + (1 - weight) * mirrored
