"""The system of record: opt-out events and current state, link tokens, the webhook
outbox (model), the SQLite engine, the event-loop wrapper, backups and write health."""
