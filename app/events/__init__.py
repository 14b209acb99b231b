"""Exposures and events in, the drain into the database, attribution and experiment statistics."""
