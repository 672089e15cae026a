"""Test suites. Importing this package comes first, so the environment below is in place before any module
creates its Powertools Logger and Metrics (they read it once, at import, as in Lambda)."""

import os

# What template.yaml's Globals give every function.
for _name, _value in {
    "POWERTOOLS_SERVICE_NAME": "music-generations",
    "POWERTOOLS_METRICS_NAMESPACE": "MusicApi",
    "POWERTOOLS_LOGGER_LOG_EVENT": "false",
}.items():
    os.environ.setdefault(_name, _value)
