"""What the sync and the async client share: their settings, whom a call is about, and the flows they run."""

import copy
import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Required, Self, TypedDict

from freddy_music import _flows as flows
from freddy_music._files import PartialFile
from freddy_music._http import (
    IDEMPOTENCY_KEY_HEADER,
    ORGANIZATION_VARIABLE,
    api_headers,
    cancel_path,
    engines_path,
    list_path,
    new_idempotency_key,
    resolve_api_key,
    resolve_base_url,
    resolve_organization,
)
from freddy_music.errors import ConfigurationError, WaitTimeoutError
from freddy_music.models import (
    Engine,
    EngineList,
    GenerationJob,
    GenerationJobPage,
    MusicTrack,
    organization_of,
)

OnUpdate = Callable[[GenerationJob], object]
JobOrId = GenerationJob | str
TrackOrId = MusicTrack | str


class BaseClient:
    def __init__(  # noqa: PLR0913 - keyword-only options, passed through from the clients
        self,
        api_key: str | None,
        *,
        base_url: str | None,
        organization_id: str | None,
        timeout: float,
        max_retries: int,
        clock: Callable[[], float],
        rng: random.Random | None,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must not be negative")
        self.base_url = resolve_base_url(base_url)
        self.organization_id = resolve_organization(organization_id)
        self.timeout = timeout
        self.max_retries = max_retries
        self._headers = api_headers(resolve_api_key(api_key))
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not secrets  # nosec B311
        self._owns_connections = True

    def with_options(self, *, timeout: float | None = None, max_retries: int | None = None) -> Self:
        """This client with another request ``timeout`` or ``max_retries``, for the calls made through it:
        ``client.with_options(max_retries=0).generations.get(job)``. It shares this client's connections (closing
        it leaves them open)."""
        if max_retries is not None and max_retries < 0:
            raise ValueError("max_retries must not be negative")
        variant = copy.copy(self)
        variant.timeout = self.timeout if timeout is None else timeout
        variant.max_retries = self.max_retries if max_retries is None else max_retries
        variant._owns_connections = False
        variant._bind()
        return variant

    def _bind(self) -> None:
        """Create the namespaces (``generations``, ``tracks``, ``engines``) bound to this client."""
        raise NotImplementedError

    # Whom a call is about.

    def _organization(self, organization_id: str | None) -> str:
        organization = organization_id or self.organization_id
        if not organization:
            raise ConfigurationError(
                f"no organization: pass one, or set a default (Client(organization_id=...) or ${ORGANIZATION_VARIABLE})"
            )
        return organization

    def _job_target(self, first: JobOrId, second: JobOrId | None) -> tuple[str, str]:
        """(organization, job id) of ``(job)``, ``(job_id)``, ``(organization_id, job)`` or
        ``(organization_id, job_id)``: a job read through a client knows its organization; an id alone takes the
        default one."""
        return self._target(first, second, GenerationJob)

    def _track_target(self, first: TrackOrId, second: TrackOrId | None) -> tuple[str, str]:
        return self._target(first, second, MusicTrack)

    def _target(self, first: Any, second: Any, kind: type[GenerationJob] | type[MusicTrack]) -> tuple[str, str]:
        organization_id, item = (None, first) if second is None else (first, second)
        if not isinstance(organization_id, str | None):
            raise TypeError(f"the organization id must be a str, not {type(organization_id).__name__}")
        if isinstance(item, kind):
            return organization_id or organization_of(item) or self._organization(None), item.id
        if not isinstance(item, str):
            raise TypeError(f"expected a {kind.__name__} or its id (a str), not {type(item).__name__}")
        return self._organization(organization_id), item

    # The flows of each method.

    @property
    def _policy(self) -> flows.RetryPolicy:
        return flows.RetryPolicy(self.max_retries, self._rng)

    def _raw_flow(
        self, method: str, path: str, *, json: Any = None, idempotency_key: str | None = None
    ) -> flows.Flow[Any]:
        # A GET is always safe to repeat; a POST only when its idempotency key makes the API answer a repeat with
        # the first answer (then a key still in use is worth waiting for, as in a create).
        headers = {} if idempotency_key is None else {IDEMPOTENCY_KEY_HEADER: idempotency_key}
        send = flows.Send(method, path, json=json, headers=headers)
        if method == "GET":
            steps = flows.parsed_flow(send, _body, policy=self._policy)
        elif idempotency_key is not None:
            steps = flows.parsed_flow(send, _body, policy=self._policy, retryable=flows.RETRYABLE_WITH_KEY)
        else:
            steps = flows.parsed_flow(send, _body, policy=flows.RetryPolicy(0, self._rng))
        return flows.Flow(steps)

    def _create_flow(
        self, organization_id: str | None, body: dict[str, Any], idempotency_key: str | None
    ) -> flows.Flow[GenerationJob]:
        # One key per logical create, the caller's or a new one, sent unchanged on every attempt.
        key = new_idempotency_key() if idempotency_key is None else idempotency_key
        return flows.Flow(
            flows.create_flow(self._organization(organization_id), body, idempotency_key=key, policy=self._policy)
        )

    def _get_flow(self, first: JobOrId, second: JobOrId | None) -> flows.Flow[GenerationJob]:
        organization_id, job_id = self._job_target(first, second)
        return flows.Flow(flows.fetch_job_flow(organization_id, job_id, policy=self._policy))

    def _cancel_flow(self, first: JobOrId, second: JobOrId | None) -> flows.Flow[GenerationJob]:
        # Cancelling is idempotent (a job that has ended comes back unchanged), so it is retried like a GET.
        organization_id, job_id = self._job_target(first, second)
        return flows.Flow(
            flows.parsed_flow(
                flows.Send("POST", cancel_path(organization_id, job_id)),
                lambda answered: GenerationJob.from_api(answered.body, organization_id, answered.response),
                policy=self._policy,
            )
        )

    def _page_flow(
        self, organization_id: str | None, *, status: str | None, limit: int, offset: int
    ) -> flows.Flow[GenerationJobPage]:
        organization = self._organization(organization_id)
        return flows.Flow(
            flows.parsed_flow(
                flows.Send("GET", list_path(organization, status=status, limit=limit, offset=offset)),
                lambda answered: GenerationJobPage.from_api(answered.body, organization, answered.response),
                policy=self._policy,
            )
        )

    def _engines_flow(self, organization_id: str | None) -> flows.Flow[list[Engine]]:
        organization = self._organization(organization_id)
        return flows.Flow(
            flows.parsed_flow(
                flows.Send("GET", engines_path(organization)),
                lambda answered: EngineList.from_api(answered.body, organization, answered.response).engines,
                policy=self._policy,
            )
        )

    def _track_flow(self, first: TrackOrId, second: TrackOrId | None) -> flows.Flow[MusicTrack]:
        organization_id, track_id = self._track_target(first, second)
        return flows.Flow(flows.fetch_track_flow(organization_id, track_id, policy=self._policy))

    def _wait_flow(
        self,
        first: JobOrId,
        second: JobOrId | None,
        *,
        timeout: float,
        on_update: OnUpdate | None,
        floor: float,
    ) -> flows.Flow[GenerationJob]:
        organization_id, job_id = self._job_target(first, second)
        return flows.Flow(
            flows.wait_flow(
                organization_id,
                job_id,
                timeout=timeout,
                poll_interval_floor=floor,
                on_update=on_update,
                request_timeout=self.timeout,
                clock=self._clock,
                rng=self._rng,
            )
        )

    def _download_flow(self, job: GenerationJob, audio: PartialFile) -> flows.Flow[GenerationJob]:
        return flows.Flow(flows.download_flow(job, audio, now=lambda: datetime.now(UTC), policy=self._policy))

    def _track_download_flow(self, track: MusicTrack, audio: PartialFile, stem: str | None) -> flows.Flow[MusicTrack]:
        return flows.Flow(
            flows.track_download_flow(track, audio, stem=stem, now=lambda: datetime.now(UTC), policy=self._policy)
        )

    def _remaining(self, deadline: float, timeout: float) -> float:
        """What is left of a ``timeout`` that ends at ``deadline``; a :class:`WaitTimeoutError` when nothing is."""
        remaining = deadline - self._clock()
        if remaining <= 0:
            raise WaitTimeoutError(
                f"no time left to wait for the job within {timeout:g} s", timeout=timeout, last_job=None
            )
        return remaining


def _body(answered: flows.Answered) -> Any:
    return answered.body


class CreationFields(TypedDict, total=False):
    """The fields of a create, as keyword arguments (the API's documentation says what each means)."""

    engine: Required[str]
    prompt: Required[str]
    duration_seconds: Required[int]
    mode: str  # "creation" (the default) or "focus"
    instrumental: bool  # default False
    lyrics: str | None
    seed_track_id: str | None
    style_tags: list[str] | None
    title: str | None


def creation_body(fields: CreationFields) -> dict[str, Any]:
    """The JSON body of a create; optional fields left out when not given (the API's defaults apply)."""
    given = {name: value for name, value in fields.items() if value is not None}
    return {"mode": "creation", "instrumental": False} | given
