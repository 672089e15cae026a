"""What invokes functions in the background locally (schedules, streams, queues): one daemon thread per event
source, each running until ``stop``, which waits for an invocation under way."""

import threading
from collections.abc import Mapping, Sequence
from typing import Protocol

from music_local.gateway import LocalFunction


class EventSource(Protocol):
    @property
    def function(self) -> str: ...  # the logical id of the function it invokes


class EventSourceThreads[Source: EventSource]:
    def __init__(self, sources: Sequence[Source], functions: Mapping[str, LocalFunction]) -> None:
        self._stopping = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(source, functions[source.function]), daemon=True)
            for source in sources
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stopping.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join()

    def _run(self, source: Source, function: LocalFunction) -> None:
        """Invoke ``function`` for ``source`` until ``self._stopping`` is set."""
        raise NotImplementedError
