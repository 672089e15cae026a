"""Generation jobs in DynamoDB: their keys, one job's read and a page of the caller's jobs.

Key layout (docs/data-model.md): ``pk = ORG#<organization_id>#USER#<user_id>``, ``sk = JOB#<job_id>``.
A caller's key is built from the authorizer's user id, so another user's or organization's job is simply
not found. A succeeded job's track has an item of its own in the owner's track partition
(``pk = ORG#<organization_id>#USER#<user_id>#TRACKS``, ``sk = TRACK#<track_id>``): never in a job partition,
so no query of jobs (the list's indexes, the table's job partition) can meet one.
"""

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from music_api.core.dynamodb import consistent_item, from_item, store_errors, to_item
from music_api.core.events import mapping
from music_api.jobs.models import CorruptJobError, JobStatus, StoredJob, StoredJobSummary

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


# The list's indexes (docs/data-model.md, "Listing"), both sorted by ``created_key`` = ``<created_at>#<job_id>``:
# the LSI on the table's pk (one caller's jobs), and the GSI on ``status_pk`` (one caller's jobs in one status).
JOBS_BY_CREATION_INDEX = "jobs_by_created"
JOBS_BY_STATUS_INDEX = "jobs_by_status"
# The dispatch sweeper's sparse index (docs/data-model.md, "Awaiting dispatch"): only queued jobs written by the job
# writer carry ``dispatch_pk``, all under one value, sorted by ``created_key``, so a Query reads the oldest first.
JOBS_AWAITING_DISPATCH_INDEX = "jobs_awaiting_dispatch"
DISPATCH_KEY = "dispatch_pk"
AWAITING_DISPATCH = "QUEUED"
# The dispatch sweeper's sparse index of running jobs (docs/data-model.md, "Running jobs"): only running jobs carry
# ``running_pk``, all under one value, sorted by ``heartbeat_at``, so a Query reads the longest silent first.
JOBS_RUNNING_INDEX = "jobs_running"
RUNNING_KEY = "running_pk"
RUNNING = "RUNNING"


def owner_key(organization_id: str, user_id: str) -> str:
    return f"ORG#{organization_id}#USER#{user_id}"


def status_key(organization_id: str, user_id: str, status: str) -> str:
    return f"{owner_key(organization_id, user_id)}#STATUS#{status}"


def track_partition(organization_id: str, user_id: str) -> str:
    return f"{owner_key(organization_id, user_id)}#TRACKS"


def track_key(organization_id: str, user_id: str, track_id: str) -> dict[str, dict[str, str]]:
    """The item key of a track, in DynamoDB's attribute-value form."""
    return {
        "pk": {"S": track_partition(organization_id, user_id)},
        "sk": {"S": f"TRACK#{track_id}"},
    }


def job_key(organization_id: str, user_id: str, job_id: str) -> dict[str, dict[str, str]]:
    """The item key of a job, in DynamoDB's attribute-value form."""
    return {
        "pk": {"S": owner_key(organization_id, user_id)},
        "sk": {"S": f"JOB#{job_id}"},
    }


def index_keys(organization_id: str, user_id: str, job_id: str, created_at: str, status: str) -> dict[str, Any]:
    """The attributes that place a job in the list's indexes (attribute-value form); every job item has them."""
    return {
        "created_key": {"S": f"{created_at}#{job_id}"},
        "status_pk": {"S": status_key(organization_id, user_id, status)},
    }


def job_item(job: Mapping[str, Any]) -> dict[str, Any]:
    """A whole job item (attribute-value form) from its plain attributes: its key, its index keys, its values."""
    organization_id, user_id, job_id = job["organization_id"], job["user_id"], job["id"]
    return (
        job_key(organization_id, user_id, job_id)
        | index_keys(organization_id, user_id, job_id, job["created_at"], job["status"])
        | to_item(job)
    )


class JobRepository:
    def __init__(self, client: "DynamoDBClient", table_name: str) -> None:
        self._client = client
        self._table_name = table_name

    def get(self, organization_id: str, user_id: str, job_id: str) -> StoredJob | None:
        """The caller's job, or ``None`` when the caller has no such job.

        Strongly consistent: a poller must never see a status go backwards between two reads.
        """
        item = consistent_item(self._client, self._table_name, job_key(organization_id, user_id, job_id), "Job store")
        if item is None:
            return None
        return to_job(item, organization_id, user_id, job_id, StoredJob)

    def page(
        self, organization_id: str, user_id: str, status: JobStatus | None, limit: int, offset: int
    ) -> list[StoredJobSummary]:
        """The caller's jobs (in one status, if given), newest first: ``offset + limit`` entries of the caller's index
        partition, the first ``offset`` dropped (DynamoDB has no offset: the list route caps it)."""
        wanted = offset + limit
        if status is None:
            index, name, value = JOBS_BY_CREATION_INDEX, "pk", owner_key(organization_id, user_id)
        else:
            index, name, value = JOBS_BY_STATUS_INDEX, "status_pk", status_key(organization_id, user_id, status)
        arguments: dict[str, Any] = {
            "TableName": self._table_name,
            "IndexName": index,
            "KeyConditionExpression": "#partition = :partition",
            "ExpressionAttributeNames": {"#partition": name},
            "ExpressionAttributeValues": to_item({":partition": value}),
            "ScanIndexForward": False,
        }
        items: list[Mapping[str, Any]] = []
        with store_errors("Job store"):
            while len(items) < wanted:
                page = self._client.query(**arguments, Limit=wanted - len(items))
                items += page.get("Items", [])
                if "LastEvaluatedKey" not in page:
                    break
                arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return [
            to_job(item, organization_id, user_id, _job_id_of(item), StoredJobSummary) for item in items[offset:wanted]
        ]


def _job_id_of(item: Mapping[str, Any]) -> str:
    sort_key = mapping(item.get("sk")).get("S")
    return sort_key.removeprefix("JOB#") if isinstance(sort_key, str) else ""


def to_job[Job: StoredJobSummary](
    item: Mapping[str, Any], organization_id: str, user_id: str, job_id: str, model: type[Job]
) -> Job:
    """An item read under the given key, as ``model`` (the job writer reads with a subclass)."""
    try:
        job = model.model_validate(from_item(item))
    except (ValidationError, TypeError, ValueError) as exc:
        raise CorruptJobError("Stored job item is invalid") from exc
    # The key and the attributes must agree; a mismatch means a bad write, never data to hand out.
    if (job.organization_id, job.user_id, job.id) != (organization_id, user_id, job_id):
        raise CorruptJobError("Stored job item does not match its key")
    return job
