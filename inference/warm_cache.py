"""Loaded models kept warm: a least-recently-used map bounded by the bytes its values hold.

A second task on the same model must not load it again (seconds to minutes for a real
checkpoint), but a GPU holds only so much: loading a model that does not fit evicts the models
used least recently until it does. A model larger than the whole budget is still loaded (the
task asks for it) and is the only one kept.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True)
class CacheStats:
    hits: int
    misses: int
    evictions: int
    entries: int
    bytes_held: int


class WarmCache(Generic[K, V]):
    """`get(key, load)` returns the cached value or loads it, evicting to stay in budget."""

    def __init__(
        self,
        budget_bytes: int,
        size_of: Callable[[V], int],
        on_evict: Callable[[K, V], None] | None = None,
    ) -> None:
        if budget_bytes <= 0:
            raise ValueError(f"budget_bytes must be positive, got {budget_bytes}")
        self._budget = budget_bytes
        self._size_of = size_of
        self._on_evict = on_evict
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._hits = self._misses = self._evictions = 0

    def get(self, key: K, load: Callable[[], V]) -> V:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
            self._hits += 1
            return entry[0]
        self._misses += 1
        value = load()
        size = self._size_of(value)
        self._evict_for(size)
        self._entries[key] = (value, size)
        return value

    def peek(self, key: K) -> V | None:
        """The cached value without loading it or changing its recency."""
        entry = self._entries.get(key)
        return None if entry is None else entry[0]

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def keys(self) -> list[K]:
        """Keys from least to most recently used."""
        return list(self._entries)

    def stats(self) -> CacheStats:
        return CacheStats(
            self._hits, self._misses, self._evictions, len(self._entries), self.bytes_held
        )

    @property
    def bytes_held(self) -> int:
        return sum(size for _, size in self._entries.values())

    def clear(self) -> None:
        while self._entries:
            self._evict_oldest()

    def _evict_for(self, size: int) -> None:
        while self._entries and self.bytes_held + size > self._budget:
            self._evict_oldest()

    def _evict_oldest(self) -> None:
        key, (value, size) = self._entries.popitem(last=False)
        self._evictions += 1
        log.info("evicted a warm model key=%s bytes=%d", key, size)
        if self._on_evict is not None:
            self._on_evict(key, value)
