"""apitokens shared layer: everything the Lambda functions have in common.

Modules, from the wire inwards:
  models      pydantic request/response models (the API's JSON shapes)
  http        the Powertools resolver every handler uses; the one domain-error -> HTTP map
  service     the token operations (domain rules: limits, expiry, no privilege escalation)
  authorizer  the API Gateway REQUEST authorizer's decision (API token and JWT paths)
  policy      route/scope/account checks and the IAM policy the authorizer returns
  scopes      the scope catalog and the route -> scope table
  tokens      token value format (prefix, base62 secret, CRC32 checksum) and digest
  ids         sid formats and time-ordered sid generation
  repository  the only module that talks to DynamoDB; keys.py builds its keys
  settings    configuration, read once from the environment

The authorizer's API-token path imports neither pydantic nor PyJWT (cold start on every request).
"""
