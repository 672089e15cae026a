"""Lambda entry point of the get_track route (music_api.routes.get_track)."""

from music_api.routes.get_track import lambda_handler as lambda_handler
