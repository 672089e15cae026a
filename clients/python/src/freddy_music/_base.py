"""What the sync and the async client share: their settings and the flows they run."""

import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from freddy_music._files import PartialFile
from freddy_music._flows import Flow, create_flow, download_flow, track_download_flow, wait_flow
from freddy_music._http import api_headers, new_idempotency_key, resolve_api_key, resolve_base_url
from freddy_music.models import GenerationJob, MusicTrack

OnUpdate = Callable[[GenerationJob], object]


class BaseClient:
    def __init__(
        self,
        api_key: str | None,
        *,
        base_url: str | None,
        timeout: float,
        clock: Callable[[], float],
        rng: random.Random | None,
    ) -> None:
        self.base_url = resolve_base_url(base_url)
        self._headers = api_headers(resolve_api_key(api_key))
        self._timeout = timeout
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not secrets  # nosec B311

    def _create_flow(
        self, organization_id: str, body: dict[str, Any], idempotency_key: str | None
    ) -> Flow[GenerationJob]:
        # One key per logical create, the caller's or a new one, sent unchanged on every attempt.
        key = new_idempotency_key() if idempotency_key is None else idempotency_key
        return Flow(create_flow(organization_id, body, idempotency_key=key, rng=self._rng))

    def _wait_flow(
        self, organization_id: str, job_id: str, *, timeout: float, on_update: OnUpdate | None, floor: float
    ) -> Flow[GenerationJob]:
        return Flow(
            wait_flow(
                organization_id,
                job_id,
                timeout=timeout,
                poll_interval_floor=floor,
                on_update=on_update,
                request_timeout=self._timeout,
                clock=self._clock,
                rng=self._rng,
            )
        )

    @staticmethod
    def _download_flow(job: GenerationJob, audio: PartialFile) -> Flow[GenerationJob]:
        return Flow(download_flow(job, audio, now=lambda: datetime.now(UTC)))

    @staticmethod
    def _track_download_flow(track: MusicTrack, audio: PartialFile, stem: str | None) -> Flow[MusicTrack]:
        return Flow(track_download_flow(track, audio, stem=stem, now=lambda: datetime.now(UTC)))


def creation_body(  # noqa: PLR0913 - the request's fields, keyword-only
    *,
    engine: str,
    prompt: str,
    duration_seconds: int,
    mode: str,
    instrumental: bool,
    lyrics: str | None,
    seed_track_id: str | None,
    style_tags: list[str] | None,
    title: str | None,
) -> dict[str, Any]:
    """The JSON body of a create; optional fields left out when not given (the API's defaults apply)."""
    optional = {"lyrics": lyrics, "seed_track_id": seed_track_id, "style_tags": style_tags, "title": title}
    required = {
        "engine": engine,
        "prompt": prompt,
        "duration_seconds": duration_seconds,
        "mode": mode,
        "instrumental": instrumental,
    }
    return required | {name: value for name, value in optional.items() if value is not None}
