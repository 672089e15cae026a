"""Lambda entry point of the REQUEST authorizer on X-API-Key."""

from music_api.authorizer.handler import lambda_handler as lambda_handler
