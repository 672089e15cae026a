"""The generation worker: runs queued jobs through an engine and the job writer."""
