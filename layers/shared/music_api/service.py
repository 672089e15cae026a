"""The endpoint's logic: the caller's job, with a freshly signed playback URL when it has succeeded."""

from music_api.data.jobs import JobRepository
from music_api.errors import JobNotFoundError
from music_api.models.job import StoredJob
from music_api.models.response import GenerationJob, TrackSummary
from music_api.request import GetGenerationRequest
from music_api.signer import PlaybackUrlSigner


def get_generation(
    request: GetGenerationRequest, jobs: JobRepository, signer: PlaybackUrlSigner
) -> tuple[StoredJob, GenerationJob]:
    """The stored job and its public view. A job of another user or organization is not found, by key."""
    job = jobs.get(request.organization_id, request.caller.user_id, request.job_id)
    if job is None:
        raise JobNotFoundError(request.job_id)
    return job, _public_view(job, signer)


def _public_view(job: StoredJob, signer: PlaybackUrlSigner) -> GenerationJob:
    track = job.track if job.status == "succeeded" else None
    signed = signer.sign(track) if track is not None else None
    return GenerationJob(
        id=job.id,
        status=job.status,
        progress=job.progress,
        engine=job.engine,
        mode=job.mode,
        created_at=job.created_at,
        result_track_id=track.id if track is not None else job.result_track_id,
        error_message=job.error_message,
        refusal_reason=job.refusal_reason,
        playback_url=signed.url if signed is not None else None,
        playback_url_expires_at=signed.expires_at if signed is not None else None,
        track=(
            TrackSummary(
                id=track.id,
                title=track.title,
                engine=track.engine,
                mode=track.mode,
                instrumental=track.instrumental,
                measured_duration_seconds=track.measured_duration_seconds,
                mime_type=track.mime_type,
                licence_class=track.licence_class,
                playback_url=signed.url,
            )
            if track is not None and signed is not None
            else None
        ),
    )
