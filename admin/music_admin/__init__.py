"""Operator CLI for API keys and memberships (``music-api-admin``)."""
