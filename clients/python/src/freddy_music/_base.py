"""What the sync and the async client share: their settings and the flows they run."""

import random
from collections.abc import Callable
from datetime import UTC, datetime

from freddy_music._files import PartialFile
from freddy_music._flows import Flow, download_flow, track_download_flow, wait_flow
from freddy_music._http import api_headers, resolve_api_key, resolve_base_url
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
