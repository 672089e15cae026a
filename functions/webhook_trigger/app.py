"""Lambda entry point of the webhook trigger (the jobs table's DynamoDB stream)."""

from music_api.webhooks.trigger import lambda_handler as lambda_handler
