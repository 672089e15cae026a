"""The authorizer's yardstick: import boto3, one client at init, one GetItem per request."""

import hashlib
import os
from typing import Any

import boto3

dynamodb = boto3.client("dynamodb")
TABLE = os.environ["AUTH_TABLE_NAME"]


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    digest = hashlib.sha256(event["headers"]["X-API-Key"].encode()).hexdigest()
    item = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": f"APIKEY#{digest}"}, "sk": {"S": "APIKEY"}})["Item"]
    return {"principalId": item["user_id"]["S"], "policyDocument": {"Version": "2012-10-17", "Statement": []}}
