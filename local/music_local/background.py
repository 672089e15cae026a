"""What invokes functions in the background locally (schedules, streams, queues): one daemon thread per event
source, each running until ``stop``, which waits for an invocation under way."""

import threading
from collections.abc import Mapping, Sequence
from typing import Protocol

from music_local.gateway import LocalFunction


class EventSource(Protocol):
    @property
    def function(self) -> str: ...  # the logical id of the function it invokes


class EventSourceThreads[Source: EventSource, Function]:
    """One thread per (source, function) run: ``_run`` invokes the function for its source until ``stop``."""

    def __init__(self, runs: Sequence[tuple[Source, Function]]) -> None:
        self._stopping = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=run, name=f"{type(self).__name__}-{run[0].function}", daemon=True)
            for run in runs
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stopping.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join()

    def _run(self, source: Source, function: Function) -> None:
        """Invoke ``function`` for ``source`` until ``self._stopping`` is set."""
        raise NotImplementedError


def runs_of[Source: EventSource](
    sources: Sequence[Source], functions: Mapping[str, LocalFunction]
) -> list[tuple[Source, LocalFunction]]:
    """Each source with the in-process function it invokes."""
    return [(source, functions[source.function]) for source in sources]
