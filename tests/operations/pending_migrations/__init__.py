"""The operations app's migrations plus one not yet applied (tests/operations/test_health.py)."""
