"""Who a privacy request is about: the server-side hash the lake stores, and the client hashes
it was re-keyed from (found in quarantined payloads, which are kept as sent)."""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from streaming.contracts.settings import Settings
from streaming.enrichment import HASH_PREFIX, rekey_user_id_hash

_HEX_HASH = re.compile(r"[0-9a-f]{64}")
_USER_HASH_IN_TEXT = re.compile(rb'user_id_hash\\*"\s*:\s*\\*"([^"\\]{1,200})')
"""A ``user_id_hash`` member in JSON text, also when the JSON is itself a quoted string."""


class SubjectError(ValueError):
    """The hash naming the user is not one the ingest could have produced."""


@dataclass(frozen=True)
class Subject:
    """The user of a request: ``server_hash`` as the lake stores it, and the client hashes
    known to re-key to it."""

    server_hash: str
    client_hashes: frozenset[str] = field(default_factory=frozenset)

    @property
    def tokens(self) -> tuple[bytes, ...]:
        """Byte strings any record of the user holds: the hex of each hash, without prefix."""
        hashes = {self.server_hash, *self.client_hashes}
        return tuple(sorted(value.removeprefix(HASH_PREFIX).encode() for value in hashes))

    def mentioned_in(self, data: bytes) -> bool:
        return any(token in data for token in self.tokens)

    def with_clients(self, client_hashes: Iterable[str]) -> Subject:
        return Subject(self.server_hash, self.client_hashes | frozenset(client_hashes))


def _normalised(value: str, what: str) -> str:
    text = value.strip()
    if not _HEX_HASH.fullmatch(text.removeprefix(HASH_PREFIX)):
        raise SubjectError(
            f"{what} must be a SHA-256 hex digest (64 hex digits, optionally 'sha256:'), "
            f"got {value!r}"
        )
    return HASH_PREFIX + text.removeprefix(HASH_PREFIX)


def from_server_hash(value: str) -> Subject:
    return Subject(_normalised(value, "--user-hash"))


def from_client_hash(settings: Settings, value: str) -> Subject:
    """The subject of a client hash, re-keyed with the server's HMAC secret as the ingest does."""
    client = _normalised(value, "--client-hash")
    server = rekey_user_id_hash(client, settings.hmac_key)
    if server is None:
        raise SubjectError("--client-hash is empty")
    return Subject(server, frozenset({client, value.strip()}))


def client_hashes_in(settings: Settings, subject: Subject, text: bytes) -> set[str]:
    """The client hashes in raw JSON ``text`` (quarantined payloads) that re-key to the subject."""
    found = set()
    for match in _USER_HASH_IN_TEXT.finditer(text):
        candidate = match[1].decode("utf-8", errors="replace")
        if rekey_user_id_hash(candidate, settings.hmac_key) == subject.server_hash:
            found.add(candidate)
    return found


def request_subject_hash(settings: Settings, subject: Subject) -> str:
    """The subject as the audit trail keeps it: HMAC under the server secret, so the trail
    holds nothing joinable to the lake's rows or to outside data."""
    label = b"privacy-request:" + subject.server_hash.encode()
    digest = hmac.digest(settings.hmac_key, label, "sha256")
    return digest.hex()
