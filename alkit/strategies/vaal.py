"""Placeholder: filled by the seed-paper strategies issue."""
