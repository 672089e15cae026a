"""What tests share: the demo world, the contract's examples, events, the AWS environment and HTTP helpers.

Tests import from here, never from a ``conftest.py`` (pytest's fixtures stay there)."""
