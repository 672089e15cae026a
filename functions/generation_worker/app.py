"""Lambda entry point of the generation worker (SQS event source, partial batch responses)."""

from music_api.worker.handler import lambda_handler as lambda_handler
