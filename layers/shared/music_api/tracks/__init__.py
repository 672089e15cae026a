"""GET /v1/music/{organization_id}/tracks/{track_id}: a track the caller generated, with freshly signed URLs."""
