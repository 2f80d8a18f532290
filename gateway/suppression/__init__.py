"""Who opted out: the store (ledger first, then the Redis cache), the cache and its Lua
scripts, the keeper that rebuilds it, and the webhook outbox worker."""
