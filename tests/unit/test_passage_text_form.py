"""An index whose passage vectors were made from another form of the text cannot be updated in place."""

from __future__ import annotations

from hkai_qa.embedding import PASSAGE_TEXT_KEY, WITHOUT_HEADING
from hkai_qa.update import CHUNKING_VERSION, full_rebuild_reason

MODEL = {"name": "m", "weights_sha256": "abc", "dimension": 384, "max_tokens": 509}


def test_a_change_of_passage_text_form_forces_a_full_rebuild():
    old = {"model": dict(MODEL), "chunking_version": CHUNKING_VERSION}
    new = {**MODEL, PASSAGE_TEXT_KEY: WITHOUT_HEADING}
    assert full_rebuild_reason(old, dict(MODEL)) is None
    reason = full_rebuild_reason(old, new)
    assert reason is not None and PASSAGE_TEXT_KEY in reason
    assert full_rebuild_reason({"model": new, "chunking_version": CHUNKING_VERSION}, new) is None
