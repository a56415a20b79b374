"""The zone tests use the database fixtures of tests/conftest.py."""
