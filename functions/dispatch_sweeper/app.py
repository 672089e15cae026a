"""Lambda entry point of the dispatch sweeper (EventBridge schedule)."""

from music_api.dispatch.handler import lambda_handler as lambda_handler
