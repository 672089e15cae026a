"""Shared package of the music generations API: settings, models, data access, signing, HTTP glue."""
