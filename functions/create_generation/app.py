"""Lambda entry point of the create_generation route (music_api.routes.create_generation)."""

from music_api.routes.create_generation import lambda_handler as lambda_handler
