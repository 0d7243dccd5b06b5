"""Text as a reader sees it: what "required" means for a reason, a reference, a document."""

from __future__ import annotations

import unicodedata


def visible_text(text: str) -> str:
    """``text`` without its outer whitespace and without invisible format characters
    (zero-width spaces and joiners, direction marks: Unicode category Cf): what remains is
    what a reader sees, so ``"   \\u200b "`` is empty and a reason made of it is no reason."""
    return "".join(c for c in text if unicodedata.category(c) != "Cf").strip()
