"""API keys, their storage and the authorizer's policy."""
