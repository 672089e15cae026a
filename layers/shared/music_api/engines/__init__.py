"""GET /v1/music/{organization_id}/engines and the engine catalogue create reads: models, store, handler."""
