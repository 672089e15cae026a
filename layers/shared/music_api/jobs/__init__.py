"""Generation jobs, the domain every job route and the worker side share: what is stored (models), its keys and
reads (store), the lifecycle's writes (writer), signed audio URLs (signer), what clients see (views), the new-job
request and its rules (create), one job per idempotency key (idempotency), and the routes' settings."""
