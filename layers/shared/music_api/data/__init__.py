"""Data access: one small class per store, raising domain errors."""
