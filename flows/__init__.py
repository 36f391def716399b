"""Prefect flows: one per documented operation, composed from tasks/."""
