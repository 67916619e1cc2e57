"""The store: the only code that talks to DynamoDB (repositories, keys, idempotency records)."""
