"""Fixtures of the training tests: the smallest real data set (3 signs, 12 clips)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def mp_data(shared_data: Path) -> Path:
    return shared_data / "samples" / "MP_Data"
