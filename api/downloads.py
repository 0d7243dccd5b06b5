"""The one way the API serves a file to download (issue 15, item 15).

A file's name often holds what users wrote (a cohort's reference: Chinese, quotes, semicolons).
HTTP headers are Latin-1, so a name is never put into ``Content-Disposition`` as it is: a
Chinese reference was a 500 (``UnicodeEncodeError``), and ``PRB-"F"; filename=evil.exe`` added
a parameter of its own. :func:`content_disposition` writes RFC 6266's form: an ASCII fallback
``filename="..."`` (every character outside a small safe set replaced by ``_``) for old
clients, and ``filename*=UTF-8''...`` (RFC 8187, formerly 5987: percent-encoded UTF-8), which
every current browser prefers.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from litestar import Response

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_UNSAFE_FALLBACK = re.compile(r"[^A-Za-z0-9._()\[\]+-]")
"""What the ASCII fallback keeps: letters, digits and ``._()[]+-`` (no quote, backslash,
semicolon, comma, slash, space, percent or control character)."""
_SEPARATORS = re.compile(r"[/\\\x00-\x1f\x7f]")
MAX_NAME = 150
"""Characters of the name kept (its extension always is)."""


def _clean(name: str) -> str:
    """The name without path separators or control characters, in NFC, at most ``MAX_NAME``
    characters (the extension kept), never empty or a dot file."""
    name = _SEPARATORS.sub("_", unicodedata.normalize("NFC", name)).strip().strip(".")
    if len(name) > MAX_NAME:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 10:
            name = stem[: MAX_NAME - len(extension) - 1] + "." + extension
        else:
            name = name[:MAX_NAME]
    return name or "download"


def ascii_fallback(name: str) -> str:
    """The name for clients that do not read ``filename*``: unsafe characters are ``_``."""
    return _UNSAFE_FALLBACK.sub("_", _clean(name))


def content_disposition(name: str, disposition: str = "attachment") -> str:
    """``attachment; filename="<ascii>"; filename*=UTF-8''<percent-encoded>`` (RFC 6266)."""
    clean = _clean(name)
    return f"{disposition}; filename=\"{ascii_fallback(clean)}\"; filename*=UTF-8''{quote(clean, safe='')}"


def download(name: str, data: bytes, media_type: str = XLSX) -> Response[bytes]:
    """A file to download under ``name``, never cached (it holds personal data or the
    caller's scope)."""
    return Response(
        content=data,
        media_type=media_type,
        headers={
            "Content-Disposition": content_disposition(name),
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "X-Robots-Tag": "noindex, nofollow",
        },
    )
