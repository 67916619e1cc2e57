"""The domain: token operations and their rules, formats, the scope and route catalog, records."""
