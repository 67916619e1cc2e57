"""apitokens shared layer: everything the Lambda functions have in common.

Subpackages, from the wire inwards. A request goes wire -> domain -> store; auth decides who may
make it and builds the principal the domain functions take; store imports only domain's records,
errors and audit shapes (and settings), never wire or auth.
  wire      the API's JSON shapes (models) and the Powertools resolver every handler uses, with
            the one domain-error -> HTTP map (http)
  auth      who is calling and what they may do: the API Gateway REQUEST authorizer (authorizer),
            user JWTs (jwt_auth), the principal it passes to handlers, and the route/scope/account
            checks and IAM policy (policy)
  domain    the token operations and their rules (service: limits, expiry, no privilege
            escalation; idempotent create and roll; leaks, expiry, audit, usage), token and sid
            formats (tokens, ids, base62), the token API's routes (token_api), the scope and
            route catalog (scopes, with the other APIs' routes.txt),
            records, errors and time
  store     the only code that talks to DynamoDB: the token repository (repository, built on
            lineage and base), its items (items) and driver edge (driver), the event repository,
            the keys of the single table (keys), and the audit stream transform; the
            authorizer's own DynamoDB client on the standard library (dynamodb_http, with its
            signer sigv4, its endpoint rules endpoint and its HTTP/1.1 connection http1)
  settings  configuration, read once from the environment; jsonlog and tracing are the hot
            path's log line and the opt-in X-Ray tracing

The authorizer's API-token path imports neither pydantic nor PyJWT nor boto3/botocore (cold start
on every request).
"""
