"""Prefect flows: thin tables of contents over rectify_core."""
