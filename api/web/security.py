"""The web pages' headers and the checks every form passes.

- :data:`PAGE_HEADERS`: no caching (pages hold personal data), no framing (``frame-ancestors
  'none'`` and ``X-Frame-Options: DENY``), no sniffing, no indexing, no referrer, and a
  Content-Security-Policy without inline script or style: scripts and styles come from the
  site's own files (``/static``), nothing from elsewhere.
- :func:`foreign_origin`: a form posted from another site (its ``Origin``, or without one its
  ``Referer``, names another origin; ``Origin: null`` too) is refused before anything else,
  whatever token it carries.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar import Request

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
    # same-origin: a page's own forms carry their Origin (with no-referrer the browser sends
    # ``Origin: null``, which foreign_origin refuses); no other site is told where one was.
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": CSP,
}


def own_origin(request: Request[Any, Any, Any]) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def foreign_origin(request: Request[Any, Any, Any]) -> bool:
    """Whether a form comes from another site: its ``Origin`` (browsers send it with every
    POST) or, without one, its ``Referer`` names another origin. A request with neither (not
    a browser) is judged by its CSRF token alone."""
    origin = request.headers.get("origin")
    if origin is not None:
        return origin.strip().lower() != own_origin(request).lower()
    referer = request.headers.get("referer")
    return referer is not None and _origin_of(referer).lower() != own_origin(request).lower()
