"""The REQUEST authorizer on X-API-Key: key format, the key store's one read, the IAM policy, the entry point."""
