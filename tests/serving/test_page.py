"""The browser page's copy of the hand-label -> slot table equals the Python one.

The page colours each hand it draws by the slot the server will give it (served by ``aslrec
serve``) or slots hands itself (an ``aslrec export --format web`` folder), so both modes use one
JS copy of :data:`aslrec.landmarks.hands.LABEL_SLOTS` (``web/src/slots.js``) rather than wait for
a server; this test is what keeps the copy honest.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from aslrec.landmarks.hands import LABEL_SLOTS

SLOTS_JS = Path(__file__).resolve().parents[2] / "web" / "src" / "slots.js"


def test_the_page_maps_hand_labels_to_the_pythons_slots() -> None:
    text = SLOTS_JS.read_text()
    match = re.search(r"export const LABEL_SLOTS = (\{.*?\}\s*\});", text, re.DOTALL)
    assert match, "web/src/slots.js no longer defines export const LABEL_SLOTS = {...};"
    as_json = re.sub(r"([A-Za-z_]\w*)\s*:", r'"\1":', match.group(1))  # quote the keys
    assert json.loads(as_json) == LABEL_SLOTS
