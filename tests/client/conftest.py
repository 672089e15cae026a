"""Fixtures for the client's tests: a scripted loopback server, virtual time, and either client alike."""

from collections.abc import Iterator

import pytest

from tests.helpers.client import Flavour, VirtualTime
from tests.helpers.scripted_server import ScriptedServer


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    scripted = ScriptedServer()
    with scripted.running():
        yield scripted
    assert scripted.unscripted() == [], "the client asked for something the test did not script"


@pytest.fixture
def virtual_time() -> VirtualTime:
    return VirtualTime()


@pytest.fixture
def virtual_server(virtual_time: VirtualTime) -> Iterator[ScriptedServer]:
    """A scripted server that stamps requests with the virtual clock."""
    scripted = ScriptedServer(clock=virtual_time.clock)
    with scripted.running():
        yield scripted
    assert scripted.unscripted() == []


@pytest.fixture(params=["sync", "async"])
def flavour_name(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def paced(flavour_name: str, virtual_server: ScriptedServer, virtual_time: VirtualTime) -> Flavour:
    """Either client, on virtual time, against ``virtual_server``."""
    return Flavour(flavour_name, virtual_server.url, virtual_time)


@pytest.fixture
def flavour(flavour_name: str, server: ScriptedServer) -> Flavour:
    """Either client, on real time, against ``server``."""
    return Flavour(flavour_name, server.url)
