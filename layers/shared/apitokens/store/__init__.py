"""The store: the only code that talks to DynamoDB. It implements the rules' ports
(rules/ports.py) and builds every item of the single table (docs/architecture.md)."""
