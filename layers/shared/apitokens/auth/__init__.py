"""Authentication and authorization: the authorizer, user JWTs, the principal and the policy."""
