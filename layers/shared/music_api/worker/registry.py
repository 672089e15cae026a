"""Which code runs an engine of the catalogue: its ``implementation`` name, mapped to a class imported on first use.

Lazily, so that a worker loads only the implementation its job needs (the synthesizer's numpy and lameenc are
the worker function's own dependencies, not the layer's). An operator adds an engine by adding its class here
and naming it in the catalogue item (docs/engines.md).
"""

import importlib
from typing import Final, cast

from music_api.core.containers import per_container
from music_api.worker.engine import Engine

IMPLEMENTATIONS: Final = {"synth": "music_api.worker.synth.engine:SynthEngine"}


class UnknownImplementationError(LookupError):
    """The catalogue names an implementation this worker does not have (or cannot import)."""


def is_implementation(name: str) -> bool:
    return name in IMPLEMENTATIONS


@per_container
def engine_for(implementation: str) -> Engine:
    """The engine behind an implementation name, built once per container (engines hold no per-job state)."""
    target = IMPLEMENTATIONS.get(implementation)
    if target is None:
        raise UnknownImplementationError(f"no engine implementation {implementation!r}")
    module_name, _, class_name = target.partition(":")
    try:
        engine_class = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise UnknownImplementationError(f"engine implementation {implementation!r} cannot be loaded") from exc
    return cast(Engine, engine_class())
