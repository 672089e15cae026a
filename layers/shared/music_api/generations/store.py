"""Generation jobs in DynamoDB.

Key layout (docs/data-model.md): ``pk = ORG#<organization_id>#USER#<user_id>``, ``sk = JOB#<job_id>``.
A caller's key is built from the authorizer's user id, so another user's or organization's job is simply
not found.
"""

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from music_api.core.dynamodb import from_item, store_errors
from music_api.generations.stored import CorruptJobError, StoredJob

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def job_key(organization_id: str, user_id: str, job_id: str) -> dict[str, dict[str, str]]:
    """The item key of a job, in DynamoDB's attribute-value form."""
    return {
        "pk": {"S": f"ORG#{organization_id}#USER#{user_id}"},
        "sk": {"S": f"JOB#{job_id}"},
    }


class JobRepository:
    def __init__(self, client: "DynamoDBClient", table_name: str) -> None:
        self._client = client
        self._table_name = table_name

    def get(self, organization_id: str, user_id: str, job_id: str) -> StoredJob | None:
        """The caller's job, or ``None`` when the caller has no such job.

        Strongly consistent: a poller must never see a status go backwards between two reads.
        """
        with store_errors("Job store"):
            response = self._client.get_item(
                TableName=self._table_name,
                Key=job_key(organization_id, user_id, job_id),
                ConsistentRead=True,
            )
        item = response.get("Item")
        if item is None:
            return None
        return to_job(item, organization_id, user_id, job_id, StoredJob)


def to_job[Job: StoredJob](
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
