"""Lambda entry point of the list_generations route (music_api.routes.list_generations)."""

from music_api.routes.list_generations import lambda_handler as lambda_handler
