"""One registry of models by name (the timm pattern).

Each model file registers its constructor with :func:`register_model`; everything else
(training, evaluation, export, tests) builds models only through :func:`create_model`, so a new
architecture is one new file and shows up everywhere, including the parametrised test that
builds every registered model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from aslrec.errors import ConfigError

ModelFactory = Callable[..., nn.Module]
_REGISTRY: dict[str, ModelFactory] = {}


def register_model(name: str) -> Callable[[ModelFactory], ModelFactory]:
    def decorator(factory: ModelFactory) -> ModelFactory:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} registered twice")
        _REGISTRY[name] = factory
        return factory

    return decorator


def _ensure_builtin_models() -> None:
    # Importing the model files registers them; done here rather than at package import so
    # `import aslrec` stays cheap and free of side effects.
    from aslrec.models import hybrid, kernel, seed, seed_baseline  # noqa: F401


def list_models() -> list[str]:
    _ensure_builtin_models()
    return sorted(_REGISTRY)


def create_model(
    name: str,
    num_classes: int,
    *,
    mirror_invariant: bool = False,
    mirror_canonical: bool = False,
    mirror_answer: str = "mean",
    **kwargs: Any,
) -> nn.Module:
    """Build a registered model; unknown names give a one-line error listing the known ones.

    ``mirror_invariant`` wraps any of them in :class:`~aslrec.models.symmetry.MirrorAveraged`
    (no extra parameters), so every architecture can be made to answer a clip and its mirror
    image alike; ``mirror_canonical`` gives it the canonical mirrored views (only clips whose
    mirror preprocessing does not map back get a second view); ``mirror_answer`` says how the
    two views answer (:class:`~aslrec.models.symmetry.MirrorAveraged`).
    """
    _ensure_builtin_models()
    if name not in _REGISTRY:
        raise ConfigError(f"unknown model {name!r}; known models: {', '.join(sorted(_REGISTRY))}")
    try:
        model = _REGISTRY[name](num_classes=num_classes, **kwargs)
    except TypeError as exc:
        raise ConfigError(f"model {name!r}: bad arguments {kwargs} ({exc})") from None
    if mirror_canonical and not mirror_invariant:
        raise ConfigError("mirror_canonical needs mirror_invariant")
    if mirror_answer != "mean" and not mirror_invariant:
        raise ConfigError("mirror_answer needs mirror_invariant")
    if mirror_invariant:
        from aslrec.models.symmetry import MirrorAveraged

        return MirrorAveraged(model, canonical=mirror_canonical, answer=mirror_answer)
    return model


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters, the figure the seed card reports (3,258,574)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
