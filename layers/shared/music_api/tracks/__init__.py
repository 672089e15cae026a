"""Tracks: the track a succeeded job wrote (its stored model is the job writer's, music_api.jobs.models), read by
its owner's key (store) and answered with freshly signed URLs (models)."""
