"""Developer tooling for apitokens: the local gateway (`apitokens serve`), dev JWTs, the OpenAPI
document and template.yaml readers. Not shipped in the Lambda layer."""
