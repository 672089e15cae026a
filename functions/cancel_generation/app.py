"""Lambda entry point of the cancel_generation route (music_api.routes.cancel_generation)."""

from music_api.routes.cancel_generation import lambda_handler as lambda_handler
