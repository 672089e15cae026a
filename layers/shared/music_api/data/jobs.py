"""Generation jobs in DynamoDB.

Key layout (docs/data-model.md): ``pk = ORG#<organization_id>#USER#<user_id>``, ``sk = JOB#<job_id>``.
A caller's key is built from the authorizer's user id, so another user's or organization's job is simply
not found.
"""

from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    CredentialRetrievalError,
    HTTPClientError,
)
from pydantic import ValidationError

from music_api.errors import CorruptJobError, InternalError, ServiceUnavailableError
from music_api.models.job import StoredJob

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Error codes after which a retry later can succeed: the client should back off, not give up.
_TRANSIENT_ERROR_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "LimitExceededException",
        # The role's session token expired before the runtime handed over fresh credentials.
        "ExpiredTokenException",
    }
)

_deserializer = TypeDeserializer()


def job_key(organization_id: str, user_id: str, job_id: str) -> dict[str, dict[str, str]]:
    """The item key of a job, in DynamoDB's attribute-value form."""
    return {
        "pk": {"S": f"ORG#{organization_id}#USER#{user_id}"},
        "sk": {"S": f"JOB#{job_id}"},
    }


class JobStoreUnavailableError(ServiceUnavailableError):
    """The jobs table is throttling or out of reach."""


class JobRepository:
    def __init__(self, client: "DynamoDBClient", table_name: str) -> None:
        self._client = client
        self._table_name = table_name

    def get(self, organization_id: str, user_id: str, job_id: str) -> StoredJob | None:
        """The caller's job, or ``None`` when the caller has no such job.

        Strongly consistent: a poller must never see a status go backwards between two reads.
        """
        try:
            response = self._client.get_item(
                TableName=self._table_name,
                Key=job_key(organization_id, user_id, job_id),
                ConsistentRead=True,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _TRANSIENT_ERROR_CODES:
                raise JobStoreUnavailableError("Job store throttled or unreachable") from exc
            raise InternalError("Job store request failed") from exc
        except (ConnectionError, HTTPClientError, CredentialRetrievalError) as exc:
            raise JobStoreUnavailableError("Job store throttled or unreachable") from exc
        except RuntimeError as exc:
            # botocore's word for "credentials were refreshed, but the refreshed credentials are still expired"
            raise JobStoreUnavailableError("Job store credentials expired") from exc
        except BotoCoreError as exc:
            raise InternalError("Job store request failed") from exc

        item = response.get("Item")
        if item is None:
            return None
        return _to_job(item, organization_id, user_id, job_id)


def _to_job(item: dict[str, Any], organization_id: str, user_id: str, job_id: str) -> StoredJob:
    try:
        job = StoredJob.model_validate({name: _deserializer.deserialize(value) for name, value in item.items()})
    except (ValidationError, TypeError, ValueError) as exc:
        raise CorruptJobError("Stored job item is invalid") from exc
    # The key and the attributes must agree; a mismatch means a bad write, never data to hand out.
    if (job.organization_id, job.user_id, job.id) != (organization_id, user_id, job_id):
        raise CorruptJobError("Stored job item does not match its key")
    return job
