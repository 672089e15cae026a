"""What a container keeps between invocations (settings read from the environment, boto3 clients, the engine
catalogue), each cached on first use, as Lambda reuses a container.

Every such cache is made with ``per_container`` and so registered here: ``forget_containers()`` clears them all at
once, as a new container would start, which is what a test (or the local stack) does after changing the
environment they read. A cache written with ``functools.cache`` instead would outlive that and leak one test's
settings into the next; tests/unit/test_layout.py refuses one in the layer.
"""

from collections.abc import Callable
from functools import _lru_cache_wrapper, cache
from typing import Protocol


class _Cache(Protocol):
    def cache_clear(self) -> None: ...


_CACHES: list[_Cache] = []


def per_container[T](function: Callable[..., T]) -> "_lru_cache_wrapper[T]":
    """``functools.cache``, registered for ``forget_containers``."""
    cached = cache(function)
    _CACHES.append(cached)
    return cached


def forget_containers() -> None:
    """Clear every cache made with ``per_container``: the next call reads its environment again."""
    for cached in _CACHES:
        cached.cache_clear()
