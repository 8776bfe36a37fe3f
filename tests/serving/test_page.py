"""The browser page's copy of the hand-label -> slot table equals the Python one.

The page colours each hand it draws by the slot the server will give it, so it keeps its own
copy of :data:`aslrec.landmarks.hands.LABEL_SLOTS` rather than wait for the server; this test
is what keeps the copy honest.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from aslrec.landmarks.hands import LABEL_SLOTS

APP_JS = Path(__file__).resolve().parents[2] / "web" / "src" / "app.js"


def test_the_page_maps_hand_labels_to_the_pythons_slots() -> None:
    match = re.search(r"const LABEL_SLOTS = (\{.*?\}\s*\});", APP_JS.read_text(), re.DOTALL)
    assert match, "web/src/app.js no longer defines const LABEL_SLOTS = {...};"
    as_json = re.sub(r"([A-Za-z_]\w*)\s*:", r'"\1":', match.group(1))  # quote the keys
    assert json.loads(as_json) == LABEL_SLOTS
