"""Lambda entry point of webhook delivery (the webhook queue's SQS event source)."""

from music_api.webhooks.delivery import lambda_handler as lambda_handler
