"""POST /v1/music/{organization_id}/generations: body, engine rules, the queued job through the job writer."""
