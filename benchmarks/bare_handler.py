"""The yardstick: the unavoidable work of GET generation with plain boto3, written as plainly as possible.

Import boto3, create the DynamoDB and S3 clients at init, then per request: one GetItem, one presign,
json.dumps of the response. No validation, no logging, no metrics, no error handling.
"""

import json
import os
from typing import Any

import boto3
from botocore.config import Config

dynamodb = boto3.client("dynamodb")
s3 = boto3.client("s3", config=Config(signature_version="s3v4"))
TABLE = os.environ["JOBS_TABLE_NAME"]
BUCKET = os.environ["AUDIO_BUCKET_NAME"]


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    path = event["pathParameters"]
    user_id = event["requestContext"]["authorizer"]["user_id"]
    item = dynamodb.get_item(
        TableName=TABLE,
        Key={"pk": {"S": f"ORG#{path['organization_id']}#USER#{user_id}"}, "sk": {"S": f"JOB#{path['job_id']}"}},
        ConsistentRead=True,
    )["Item"]
    track = item["track"]["M"]
    url = s3.generate_presigned_url(
        "get_object",
        Params={"Bucket": BUCKET, "Key": track["audio_key"]["S"], "ResponseContentType": track["mime_type"]["S"]},
        ExpiresIn=600,
    )
    body = {
        "id": item["id"]["S"],
        "status": item["status"]["S"],
        "progress": int(item["progress"]["N"]),
        "playback_url": url,
        "track": {"id": track["id"]["S"], "title": track["title"]["S"], "playback_url": url},
    }
    return {"statusCode": 200, "body": json.dumps(body)}
