"""The public REST API (/api/v1/): per-business API keys, one error format, cursor pagination, idempotent POSTs,
per-key rate limits and an OpenAPI schema. Resources live in each app's `api.py`; this package holds what they
share."""
