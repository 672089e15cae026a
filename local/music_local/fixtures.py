"""Fixture files: the organizations, users, keys and jobs the local stack starts with (format: docs/local-stack.md).

A file is read and checked whole before anything is written, and every problem names its entry, e.g.
``generations[3] (mgen_x): track.audio_file 'a.mp3' does not exist``. Items are written through the same
repository and models the functions read with, so what loads is what the API can serve. A ``generations`` entry
with ``simulate`` is created queued through the job writer, for the simulator to run (music_local.simulator).
"""

import json
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from music_admin.engines import EngineAdmin
from music_admin.models import Role
from music_admin.policy import PolicyAdmin
from music_admin.usage_plans import MeteredKeys
from music_api.authorizer.keys import Environment, parse_key
from music_api.authorizer.models import KeyStatus
from music_api.core.clock import to_utc_z, utc_now
from music_api.core.ids import JOB_ID_PATTERN, ORGANIZATION_ID_PATTERN, TRACK_ID_PATTERN, USER_ID_PATTERN, anchored
from music_api.engines.models import StoredEngine
from music_api.engines.policy import ContentRule
from music_api.jobs.models import JobMode, JobStatus, StoredJob, StoredTrack
from music_api.jobs.signer import file_extension
from music_api.jobs.writer import InvalidJobWriteError, JobRef, JobWriter, NewJob, track_item
from music_local.simulator import Simulation, SimulationPlan, submit
from music_local.template import Template, local_template

if TYPE_CHECKING:
    from music_local.emulator import LocalAws

DEMO_FIXTURES = Path(__file__).resolve().parents[1] / "demo.json"
_ENTRY = ConfigDict(extra="forbid", frozen=True)


class FixtureError(Exception):
    """A fixture file that cannot be loaded; the message lists every problem, one a line."""


class Organization(BaseModel):
    model_config = _ENTRY
    id: Annotated[str, Field(pattern=anchored(ORGANIZATION_ID_PATTERN))]


class User(BaseModel):
    model_config = _ENTRY
    id: Annotated[str, Field(pattern=anchored(USER_ID_PATTERN))]


class Membership(BaseModel):
    model_config = _ENTRY
    organization_id: str
    user_id: str
    role: Role = "member"


class ApiKey(BaseModel):
    model_config = _ENTRY
    key: str  # plaintext, local only: stored hashed like any other key
    user_id: str
    status: KeyStatus = "active"
    expires_at: AwareDatetime | None = None
    plan: str | None = None  # a usage plan of template.yaml; None: the template's DefaultUsagePlan


class Track(BaseModel):
    model_config = _ENTRY
    id: Annotated[str, Field(pattern=anchored(TRACK_ID_PATTERN))]
    title: str
    instrumental: bool
    measured_duration_seconds: float
    mime_type: str
    licence_class: str
    audio_file: str  # relative to the fixture file
    # The engine's licence flags, as a worker states them (unset: the reading that claims least).
    commercial_use: bool | None = None
    requires_attribution: bool | None = None
    stems: dict[str, str] = {}  # stem name -> its audio file, relative to the fixture file


class Generation(BaseModel):
    model_config = _ENTRY
    id: Annotated[str, Field(pattern=anchored(JOB_ID_PATTERN))]
    organization_id: str
    user_id: str
    # Required unless the job is simulated: a simulated job starts queued at 0, created when it is loaded.
    status: JobStatus | None = None
    progress: int | None = None
    engine: str
    mode: JobMode
    created_at: AwareDatetime | None = None
    error_message: str | None = None
    refusal_reason: str | None = None
    track: Track | None = None
    simulate: SimulationPlan | None = None


class FixtureFile(BaseModel):
    model_config = _ENTRY
    organizations: list[Organization] = []
    users: list[User] = []
    memberships: list[Membership] = []
    api_keys: list[ApiKey] = []
    generations: list[Generation] = []
    engines: list[StoredEngine] = []  # the engine catalogue (music-api-admin engine put), in the jobs table
    policy: list[ContentRule] = []  # the content policy's rules (music-api-admin policy put), beside it


@dataclass(frozen=True)
class Fixtures:
    """A checked fixture file, ready to load: job items as the jobs table stores them, audio as bytes."""

    source: Path
    content: FixtureFile
    jobs: list[dict[str, Any]]  # as stored, in the status the entry gives
    audio: dict[str, tuple[bytes, str]]  # S3 key -> (bytes, content type)
    simulated: list[tuple[NewJob, Simulation]]  # created queued at load; ``since`` is set then
    key_environment: Environment  # the stack's ApiKeyEnvironment: every key is of it
    # A succeeded job's track item (attribute-value form), as the job writer's succeed writes it with the job.
    tracks: list[dict[str, Any]] = field(default_factory=list)

    def demo_request(self) -> tuple[str, str, str] | None:
        """(key, organization id, job id) of the first succeeded job whose owner has a usable key."""
        return self._first_of_a_usable_key(lambda job: job.simulate is None and job.status == "succeeded")

    def simulated_request(self) -> tuple[str, str, str] | None:
        """The same for the first simulated job that will succeed: one to watch run."""
        return self._first_of_a_usable_key(lambda job: job.simulate is not None and job.simulate.outcome == "succeeded")

    def _first_of_a_usable_key(self, wanted: Callable[[Generation], bool]) -> tuple[str, str, str] | None:
        usable = {k.user_id: k.key for k in self.content.api_keys if k.status == "active" and k.expires_at is None}
        for job in self.content.generations:
            if wanted(job) and job.user_id in usable:
                return usable[job.user_id], job.organization_id, job.id
        return None


def read_fixtures(path: Path, template: Template | None = None) -> Fixtures:
    """Parse and check a fixture file against ``template`` (by default the local stack's: its usage plans and
    its keys' environment); raise FixtureError naming every bad entry. A key without a plan gets the template's
    default plan."""
    template = template or local_template()
    key_environment = template.api_key_environment()
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FixtureError(f"{path}: cannot be read ({exc.strerror})") from exc
    except json.JSONDecodeError as exc:
        raise FixtureError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from exc
    try:
        content = FixtureFile.model_validate(document)
    except ValidationError as exc:
        raise FixtureError("\n".join(f"{path}: {_describe(document, error)}" for error in exc.errors())) from exc
    plans = {plan.name for plan in template.usage_plans()}
    default_plan = template.default_usage_plan()
    content = content.model_copy(
        update={"api_keys": [key.model_copy(update={"plan": key.plan or default_plan}) for key in content.api_keys]}
    )
    problems = list(_reference_problems(content, plans, key_environment))
    jobs: list[dict[str, Any]] = []
    audio: dict[str, tuple[bytes, str]] = {}
    simulated: list[tuple[NewJob, Simulation]] = []
    tracks: list[dict[str, Any]] = []
    for index, generation in enumerate(content.generations):
        entry = f"generations[{index}] ({generation.id})"
        job, job_problems = _job(generation, path.parent, audio)
        if not job_problems and generation.simulate is not None and job is not None:
            simulation, job_problems = _simulation(generation, job)
            if simulation is not None:
                simulated.append(simulation)
        elif job is not None:
            jobs.append(job)
            if job.get("status") == "succeeded":
                track, job_problems = _track_item(job)
                tracks += [track] if track is not None else []
        problems += [f"{entry}: {problem}" for problem in job_problems]
    if problems:
        raise FixtureError("\n".join(f"{path}: {problem}" for problem in problems))
    return Fixtures(path, content, jobs, audio, simulated, key_environment, tracks)


def load_fixtures(fixtures: Fixtures, aws: "LocalAws") -> None:
    """Write checked fixtures into empty tables and bucket (the operator CLI's code paths for auth items)."""
    content = fixtures.content
    auth = aws.auth
    keys = MeteredKeys(auth, aws.usage_plans)
    for user in content.users:
        auth.create_user(user.id)
    for organization in content.organizations:
        auth.create_organization(organization.id)
    for membership in content.memberships:
        auth.add_membership(membership.user_id, membership.organization_id, membership.role)
    for api_key in content.api_keys:
        plan = api_key.plan or aws.default_usage_plan  # read_fixtures named one for every key
        stored = keys.issue(api_key.user_id, api_key.key, fixtures.key_environment, plan, api_key.expires_at)
        if api_key.status == "revoked":
            auth.revoke_api_key(api_key.user_id, stored.key_id)
    for key, (body, content_type) in fixtures.audio.items():
        aws.s3.put_object(Bucket=aws.bucket, Key=key, Body=body, ContentType=content_type)
    aws.put_jobs(fixtures.jobs)
    aws.put_items(fixtures.tracks)
    catalogue = EngineAdmin(aws.dynamodb, aws.jobs_table)
    for engine in content.engines:
        catalogue.put(engine)
    policy = PolicyAdmin(aws.dynamodb, aws.jobs_table)
    for rule in content.policy:
        policy.put(rule)
    writer = JobWriter(aws.dynamodb, aws.jobs_table)
    loaded = time.time()
    for new_job, simulation in fixtures.simulated:
        submit(writer, new_job, simulation.model_copy(update={"since": loaded}))


def _job(
    generation: Generation, base: Path, audio: dict[str, tuple[bytes, str]]
) -> tuple[dict[str, Any] | None, list[str]]:
    """The job as the jobs table stores it, checked with the model the handler reads it with. A simulated job's
    is where it ends (its status still the entry's), for ``_simulation`` to take apart."""
    if generation.simulate is None:
        missing = [name for name in ("status", "progress", "created_at") if getattr(generation, name) is None]
        if missing:
            return None, [f"{name}: Field required (unless the job is simulated)" for name in missing]
    values: dict[str, Any] = generation.model_dump(exclude={"track", "simulate"}) | {
        "created_at": to_utc_z(generation.created_at or utc_now())
    }
    problems = []
    track = generation.track
    if track is not None:
        audio_key = f"audio/{generation.organization_id}/{track.id}.{file_extension(track.mime_type)}"
        stems = {
            name: f"{audio_key.rsplit('.', 1)[0]}/{name}.{file_extension(track.mime_type)}" for name in track.stems
        }
        values["result_track_id"] = track.id
        values["track"] = track.model_dump(exclude={"audio_file", "stems"}, exclude_none=True) | {
            "engine": generation.engine,
            "mode": generation.mode,
            "audio_key": audio_key,
            "stems": stems or None,
        }
        files = [("audio_file", audio_key, track.audio_file)]
        files += [(f"stems.{name}", stems[name], stem_file) for name, stem_file in track.stems.items()]
        for field_name, key, audio_file in files:
            audio_path = base / audio_file
            if not audio_path.is_file():
                problems.append(f"track.{field_name} {audio_file!r} does not exist")
            else:
                audio[key] = (audio_path.read_bytes(), track.mime_type)
    if generation.simulate is not None:
        # Checked as the simulator will leave it; the status and progress the entry gives do not matter.
        outcome = generation.simulate.outcome
        values |= {"status": outcome, "progress": 100 if outcome == "succeeded" else 0}
    try:
        StoredJob.model_validate(values)
    except ValidationError as exc:
        problems += [_problem(error) for error in exc.errors()]
    return (None if problems else values), problems


def _track_item(job: dict[str, Any]) -> tuple[dict[str, Any] | None, list[str]]:
    """A succeeded job's track item, created when the job was (a fixture job has no finish time)."""
    try:
        ref = JobRef(job["organization_id"], job["user_id"], job["id"])
        return track_item(ref, StoredTrack.model_validate(job["track"]), job["created_at"]), []
    except InvalidJobWriteError as error:
        return None, [str(error)]


def _simulation(generation: Generation, final: dict[str, Any]) -> tuple[tuple[NewJob, Simulation] | None, list[str]]:
    """A simulated entry as the job to create and its simulation; what the outcome needs must be there."""
    plan = generation.simulate
    if plan is None:
        return None, []
    try:
        job = NewJob(
            JobRef(generation.organization_id, generation.user_id, generation.id), generation.engine, generation.mode
        )
        simulation = Simulation.model_validate(
            plan.model_dump()
            | {"since": time.time()}
            | {name: final.get(name) for name in ("track", "error_message", "refusal_reason")}
        )
    except InvalidJobWriteError as error:
        return None, [str(error)]
    except ValidationError as exc:
        return None, [_problem(error, "simulate") for error in exc.errors()]
    return (job, simulation), []


def _problem(error: Any, subject: str = "job") -> str:
    """``track.title: String should ...``, or ``job: ...`` for a rule about the whole ``subject``."""
    location = ".".join(map(str, error["loc"]))
    return f"{location or subject}: {error['msg']}"


def _reference_problems(content: FixtureFile, plans: Collection[str], key_environment: Environment) -> Iterable[str]:
    organizations = {organization.id for organization in content.organizations}
    users = {user.id for user in content.users}
    for kind, ids in (
        ("organizations", [o.id for o in content.organizations]),
        ("users", [u.id for u in content.users]),
        ("api_keys", [k.key for k in content.api_keys]),
        ("generations", [g.id for g in content.generations]),
        ("memberships", [f"{m.user_id} in {m.organization_id}" for m in content.memberships]),
    ):
        for duplicate, count in Counter(ids).items():
            if count > 1:
                shown = duplicate if kind != "api_keys" else "a key"
                yield f"{kind}: {shown} appears {count} times"
    members = {(m.user_id, m.organization_id) for m in content.memberships}
    for index, membership in enumerate(content.memberships):
        if membership.user_id not in users:
            yield f"memberships[{index}]: unknown user {membership.user_id}"
        if membership.organization_id not in organizations:
            yield f"memberships[{index}]: unknown organization {membership.organization_id}"
    for index, api_key in enumerate(content.api_keys):
        yield from (
            f"api_keys[{index}]: {problem}" for problem in _key_problems(api_key, users, plans, key_environment)
        )
    for index, generation in enumerate(content.generations):
        if (generation.user_id, generation.organization_id) not in members:
            yield (
                f"generations[{index}] ({generation.id}): {generation.user_id} is not a member of "
                f"{generation.organization_id}"
            )


def _key_problems(
    api_key: ApiKey, users: Collection[str], plans: Collection[str], key_environment: Environment
) -> Iterable[str]:
    parsed = parse_key(api_key.key)
    if parsed is None:
        yield "key is not a valid API key (format or checksum)"
    elif parsed.environment != key_environment:
        yield f"a frd_{parsed.environment}_ key; the local stack accepts frd_{key_environment}_ keys only"
    if api_key.user_id not in users:
        yield f"unknown user {api_key.user_id}"
    if api_key.plan not in plans:
        yield f"unknown plan {api_key.plan!r} (template.yaml has {', '.join(sorted(plans))})"


def _describe(document: Any, error: Any) -> str:
    """``generations[3] (mgen_x).track.title: Field required`` from a pydantic error location."""
    location: list[str] = []
    node = document
    for part in error["loc"]:
        if isinstance(part, int):
            location[-1] += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("id"), str):
                location[-1] += f" ({node['id']})"
        else:
            location.append(str(part))
            node = node.get(part) if isinstance(node, dict) else None
    return f"{'.'.join(location) or 'file'}: {error['msg']}"


def describe_counts(fixtures: Fixtures) -> str:
    content = fixtures.content
    return (
        f"{len(content.organizations)} organizations, {len(content.users)} users, "
        f"{len(content.api_keys)} keys, {len(content.generations)} jobs ({len(fixtures.simulated)} simulated), "
        f"{len(content.engines)} engines, {len(content.policy)} content policy rules"
    )
