"""What the suite watches for personal data that leaked: every error body a test client
received, and every log the suite and its processes wrote (issue 7, section 6).

``tests/test_personal_data_leaks.py`` runs last (``tests/conftest.py`` orders it) and looks
through all of them for anything that is an ID number (18 characters with a valid check
digit): the numbers the suite used are such numbers, and none may appear in a log or in an
error answer.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import httpx

from registry.people.rules.idnumber import check_digit

ERROR_BODIES: list[tuple[str, str]] = []
"""``(method and path, body)`` of every answer with a 4xx or 5xx status the test clients saw."""
LOG_ROOTS: list[Path] = []
"""Folders whose ``*.log`` (and ``*.out``/``*.err``) files the processes under test wrote."""
LOG_SUFFIXES = (".log", ".out", ".err", ".txt")
_CANDIDATE = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")


async def record_error_body(response: httpx.Response) -> None:
    """An httpx response hook: keep the body of every error answer."""
    if response.status_code >= 400:
        await response.aread()
        ERROR_BODIES.append((f"{response.request.method} {response.request.url.path}", response.text))


def watched_client(transport: httpx.AsyncBaseTransport, **kwargs: object) -> httpx.AsyncClient:
    """A test client whose error answers are kept for the leak check."""
    return httpx.AsyncClient(
        transport=transport,
        event_hooks={"response": [record_error_body]},
        **kwargs,  # type: ignore[arg-type]
    )


def session_log(path: Path) -> logging.Handler:
    """A handler on the root logger that keeps everything this process logs in ``path``."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    return handler


def id_numbers_in(text: str) -> list[str]:
    """The real ID numbers (valid check digit) in ``text``."""
    return [m for m in _CANDIDATE.findall(text) if m[17].upper() == check_digit(m[:17])]


def leaks() -> list[str]:
    """Where an ID number was found: ``error answer to POST /path: 4103...`` or ``file: ...``."""
    found: list[str] = []
    for where, body in ERROR_BODIES:
        found += [f"error answer to {where}: {n[:6]}...{n[-4:]}" for n in id_numbers_in(body)]
    for root in LOG_ROOTS:
        if not root.exists():
            continue
        for path in root.rglob("*"):
            if path.is_file() and path.suffix in LOG_SUFFIXES and path.stat().st_size < 200 * 1024 * 1024:
                text = path.read_text(encoding="utf-8", errors="replace")
                found += [f"{path}: {n[:6]}...{n[-4:]}" for n in id_numbers_in(text)]
    return found
