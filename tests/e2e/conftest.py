"""The local API as a user runs it: ``python -m music_local`` in a subprocess, on a free loopback port."""

from collections.abc import Iterator

import pytest

from music_local.launcher import ROOT, LaunchedApi, launched
from tests.helpers.http import assert_no_secrets_logged


@pytest.fixture(scope="session")
def local_api() -> Iterator[LaunchedApi]:
    # DEBUG: every line the functions can log is written, so the hygiene check below sees all of them.
    with launched("--log-level", "DEBUG") as api:
        yield api
    assert api.exit_code == 0, "Ctrl-C must stop the local API cleanly"
    assert_no_secrets_logged(api.output, ROOT / "local" / "demo.json")
