"""Encryption at rest and blind indexes for personal data (DESIGN.md section 9).

Ciphertext layout: ``b"v1" | key id (4 bytes) | nonce (12 bytes) | AES-256-GCM ciphertext+tag``.
The key id is the first 4 bytes of SHA-256 of the key, so a value written under an
older key can still be read while ``registry rotate-keys`` re-encrypts.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from registry.core.errors import ConfigurationError
from registry.core.settings import Settings

_VERSION = b"v1"


def _key_id(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()[:4]


@dataclass(frozen=True)
class Vault:
    data_key: bytes = field(repr=False)
    index_key: bytes = field(repr=False)
    previous_data_keys: tuple[bytes, ...] = field(repr=False, default=())
    _ciphers: dict[bytes, AESGCM] = field(init=False, repr=False, compare=False)
    _current_id: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for key in (self.data_key, self.index_key, *self.previous_data_keys):
            if len(key) != 32:
                raise ConfigurationError("personal-data keys must be 32 bytes")
        # One cipher object per key, made once: the bulk import encrypts two values a row.
        ciphers = {_key_id(key): AESGCM(key) for key in (*self.previous_data_keys, self.data_key)}
        object.__setattr__(self, "_ciphers", ciphers)
        object.__setattr__(self, "_current_id", _key_id(self.data_key))

    def encrypt(self, plaintext: str, *, context: str) -> bytes:
        """Encrypt ``plaintext``; ``context`` (e.g. ``"id_number"``) is bound as associated data."""
        key_id = self._current_id
        nonce = os.urandom(12)
        sealed: bytes = self._ciphers[key_id].encrypt(nonce, plaintext.encode(), context.encode())
        return _VERSION + key_id + nonce + sealed

    def decrypt(self, blob: bytes, *, context: str) -> str:
        blob = bytes(blob)
        if blob[:2] != _VERSION:
            raise ValueError("unknown ciphertext version")
        key_id, nonce, ct = blob[2:6], blob[6:18], blob[18:]
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise ValueError("ciphertext was written under a key that is not configured")
        return str(cipher.decrypt(nonce, ct, context.encode()).decode())

    def needs_reencryption(self, blob: bytes) -> bool:
        return bytes(blob)[2:6] != self._current_id

    def blind_index(self, value: str, *, context: str) -> str:
        """Deterministic HMAC-SHA256 of a normalised value: equality search without the value."""
        return hmac.digest(self.index_key, f"{context}:{value}".encode(), "sha256").hex()


def vault_from_settings(settings: Settings) -> Vault:
    return Vault(
        data_key=settings.data_key,
        index_key=settings.index_key,
        previous_data_keys=settings.previous_data_keys,
    )
