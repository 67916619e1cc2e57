"""The application rules: the token operations, idempotent create and roll, leak reports and the
expiry sweep, over the domain values and the storage ports (ports.py) the store implements."""
