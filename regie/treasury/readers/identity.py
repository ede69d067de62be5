"""Stable identities for files and entries.

An entry id must be the same whichever file describes the booking (two overlapping daily files,
or a notification and the statement that follows), so ids are built only from what the bank says
about the booking — never from a position in the file.
"""

from __future__ import annotations

import hashlib
from array import array
from collections import Counter


def content_digest(data: bytes) -> str:
    """File identity for formats that carry no message id."""
    return hashlib.sha256(data).hexdigest()


def fingerprint(*parts: object) -> str:
    """Short digest of an entry's content, for entries without any bank reference."""
    text = "\x1f".join("" if part is None else str(part) for part in parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


class UniqueIds:
    """Suffixes `#2`, `#3` … to an id already seen in the same file.

    Identical keys happen when a bank leaves its references blank or repeats one inside a batch;
    the n-th occurrence of the same key within one file keeps the same id when that file is read
    again or overlaps with another one. Only an 8-byte digest per key is kept, in a flat table, so
    memory stays small next to the file (about 1.6 MB for 100,000 entries).
    """

    def __init__(self) -> None:
        self._seen = _DigestSet()
        self._repeats: Counter[str] = Counter()

    def make(self, key: str) -> str:
        digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
        if self._seen.add(int.from_bytes(digest, "little")):
            return key
        self._repeats[key] += 1
        return f"{key}#{self._repeats[key] + 1}"


class _DigestSet:
    """A set of 64-bit digests in an open-addressing array, at most half full.

    A Python set of the same digests costs about eight times as much memory. `add` runs once per
    entry of the largest files, so it keeps what it needs (the mask, the room left before the table
    must grow) instead of working it out each time.
    """

    def __init__(self) -> None:
        self._slots = array("Q", bytes(8 * 1024))
        self._mask = len(self._slots) - 1  # a slot's index is the digest's low bits
        self._room = len(self._slots) // 2  # digests that still fit before the table is half full
        self._has_zero = False  # 0 marks an empty slot, so the zero digest is kept aside

    def add(self, digest: int) -> bool:
        """Add `digest`; False if it was already there."""
        if digest == 0:
            added, self._has_zero = not self._has_zero, True
            return added
        slots, mask = self._slots, self._mask
        index = digest & mask
        while held := slots[index]:
            if held == digest:
                return False
            index = (index + 1) & mask
        slots[index] = digest
        self._room -= 1
        if self._room == 0:
            self._grow()
        return True

    def _grow(self) -> None:
        """Twice as many slots; every digest held so far goes to its place in the new table."""
        held = self._slots
        slots = self._slots = array("Q", bytes(16 * len(held)))
        mask = self._mask = len(slots) - 1
        self._room = len(slots) // 2 - len(held) // 2
        for digest in held:
            if digest:  # all distinct: only an empty slot is looked for
                index = digest & mask
                while slots[index]:
                    index = (index + 1) & mask
                slots[index] = digest
