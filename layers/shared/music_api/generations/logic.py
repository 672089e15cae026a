"""The endpoint's logic: the caller's job, with a freshly signed playback URL when it has succeeded."""

from music_api.core.errors import JobNotFoundError
from music_api.generations.request import GetGenerationRequest
from music_api.generations.response import GenerationJob, TrackSummary, WebhookGenerationJob, WebhookTrackSummary
from music_api.generations.signer import PlaybackUrlSigner
from music_api.generations.store import JobRepository
from music_api.generations.stored import StoredJob

# The job's track summary; the track route (music_api.tracks) answers the rest (licence flags, stems).
_TRACK_SUMMARY_FIELDS = set(TrackSummary.model_fields) - {"playback_url"}
_PUBLIC_JOB_FIELDS = {"id", "status", "progress", "engine", "mode", "created_at", "error_message", "refusal_reason"}


def get_generation(
    request: GetGenerationRequest, jobs: JobRepository, signer: PlaybackUrlSigner
) -> tuple[StoredJob, GenerationJob]:
    """The stored job and its public view. A job of another user or organization is not found, by key."""
    job = jobs.get(request.organization_id, request.caller.user_id, request.job_id)
    if job is None:
        raise JobNotFoundError(request.job_id)
    return job, public_view(job, signer)


def public_view(job: StoredJob, signer: PlaybackUrlSigner) -> GenerationJob:
    """The job as GET and cancel answer it: stored fields by name (the models share them); URL and track only
    for a succeeded job."""
    common = job.model_dump(include=_PUBLIC_JOB_FIELDS)
    if job.status != "succeeded" or job.track is None:
        return GenerationJob(
            **common,
            result_track_id=job.result_track_id,
            playback_url=None,
            playback_url_expires_at=None,
            track=None,
        )
    signed = signer.sign(job.track)
    return GenerationJob(
        **common,
        result_track_id=job.track.id,
        playback_url=signed.url,
        playback_url_expires_at=signed.expires_at,
        track=TrackSummary(**job.track.model_dump(include=_TRACK_SUMMARY_FIELDS), playback_url=signed.url),
    )


def webhook_view(job: StoredJob) -> WebhookGenerationJob:
    """The job as a webhook event carries it: GET's view without the playback URL and its expiry, which would
    be stale by the time a retry arrives (the receiver GETs the job for a fresh one)."""
    common = job.model_dump(include=_PUBLIC_JOB_FIELDS)
    if job.status != "succeeded" or job.track is None:
        return WebhookGenerationJob(**common, result_track_id=job.result_track_id, track=None)
    return WebhookGenerationJob(
        **common,
        result_track_id=job.track.id,
        track=WebhookTrackSummary(**job.track.model_dump(include=_TRACK_SUMMARY_FIELDS)),
    )
