"""Lambda entry point of the list_engines route (music_api.routes.list_engines)."""

from music_api.routes.list_engines import lambda_handler as lambda_handler
