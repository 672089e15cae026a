"""GET /v1/music/{organization_id}/generations/{job_id}: request, logic, job store, signer, models, handler."""
