"""Completion webhooks: a job's terminal transition, signed (Standard Webhooks) and delivered at least once from a
queue, never to an address inside the network (docs/architecture.md#completion-webhooks)."""
