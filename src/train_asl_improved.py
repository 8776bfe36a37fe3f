"""Compatibility module for the seed card's usage snippet.

The card's snippet starts with ``from train_asl_improved import ImprovedASLModel``; this module
makes that line work unchanged by re-exporting aslrec's implementation.
"""

from aslrec.models.seed import ImprovedASLModel

__all__ = ["ImprovedASLModel"]
