"""Models by name: ``create_model("seed", num_classes=77)``; see :mod:`aslrec.models.registry`."""

from aslrec.models.registry import count_parameters, create_model, list_models, register_model
from aslrec.models.seed import ImprovedASLModel

__all__ = ["ImprovedASLModel", "count_parameters", "create_model", "list_models", "register_model"]
