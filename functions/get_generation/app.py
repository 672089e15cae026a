"""Lambda entry point of the get_generation route (music_api.routes.get_generation)."""

from music_api.routes.get_generation import lambda_handler as lambda_handler
