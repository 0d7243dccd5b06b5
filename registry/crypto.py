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

from registry.errors import ConfigurationError
from registry.settings import Settings

_VERSION = b"v1"


def _key_id(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()[:4]


@dataclass(frozen=True)
class Vault:
    data_key: bytes = field(repr=False)
    index_key: bytes = field(repr=False)
    previous_data_keys: tuple[bytes, ...] = field(repr=False, default=())

    def __post_init__(self) -> None:
        for key in (self.data_key, self.index_key, *self.previous_data_keys):
            if len(key) != 32:
                raise ConfigurationError("personal-data keys must be 32 bytes")

    def encrypt(self, plaintext: str, *, context: str) -> bytes:
        """Encrypt ``plaintext``; ``context`` (e.g. ``"id_number"``) is bound as associated data."""
        nonce = os.urandom(12)
        ct = AESGCM(self.data_key).encrypt(nonce, plaintext.encode(), context.encode())
        return _VERSION + _key_id(self.data_key) + nonce + ct

    def decrypt(self, blob: bytes, *, context: str) -> str:
        blob = bytes(blob)
        if blob[:2] != _VERSION:
            raise ValueError("unknown ciphertext version")
        key_id, nonce, ct = blob[2:6], blob[6:18], blob[18:]
        for key in (self.data_key, *self.previous_data_keys):
            if _key_id(key) == key_id:
                return AESGCM(key).decrypt(nonce, ct, context.encode()).decode()
        raise ValueError("ciphertext was written under a key that is not configured")

    def needs_reencryption(self, blob: bytes) -> bool:
        return bytes(blob)[2:6] != _key_id(self.data_key)

    def blind_index(self, value: str, *, context: str) -> str:
        """Deterministic HMAC-SHA256 of a normalised value: equality search without the value."""
        return hmac.new(self.index_key, f"{context}:{value}".encode(), hashlib.sha256).hexdigest()


def vault_from_settings(settings: Settings) -> Vault:
    return Vault(
        data_key=settings.data_key,
        index_key=settings.index_key,
        previous_data_keys=settings.previous_data_keys,
    )
