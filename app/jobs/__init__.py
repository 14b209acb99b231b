"""Batch jobs: the nightly rebuild that mines orders and publishes a rule version."""
