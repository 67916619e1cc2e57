"""apitokens shared layer: everything the Lambda functions have in common.

Packages, from the top down; each imports only those below it (docs/architecture.md; `make
lint` checks it with import-linter's contracts in pyproject.toml):
  wire      the API's JSON shapes (models), each request turned into a command for the rules,
            and the Powertools resolver every handler uses, with the one domain-error -> HTTP
            map (http)
  auth      who is calling and what they may do: the API Gateway REQUEST authorizer (authorizer),
            user JWTs (jwt_auth), and the route/scope/account checks and IAM policy (policy);
            the verify route's check of a presented token (verify)
  store     the only code that talks to DynamoDB: it implements the rules' ports and builds every
            item of the single table, audit events included; boto3 for every function but the
            authorizer, which uses its own client on the standard library (dynamodb_http, with
            its signer sigv4, its endpoint rules endpoint and its HTTP/1.1 connection http1)
  rules     the application rules: the token operations (service: limits, expiry, no privilege
            escalation), idempotent create and roll, leak reports, the expiry sweep; they reach
            storage only through small Protocol ports (ports) and take commands, not wire models
  settings  configuration, read once from the environment
  domain    the domain's values, importing nothing else of the layer: records, errors, commands,
            the principal, token and sid formats (tokens, ids, base62), the token API's routes
            (token_api), the scope and route
            catalog (scopes, routes.txt), time, usage, audit event documents as plain data
jsonlog, tracing and startup stand beside them: the authorizer's log line, opt-in X-Ray, and a
handler's init without garbage collection.

The authorizer's API-token path imports neither pydantic nor PyJWT nor boto3/botocore (cold start
on every request).
"""
