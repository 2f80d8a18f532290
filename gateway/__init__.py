"""The running service: sockets, Redis, the ledger, HTTP, webhooks, metrics.

Its packages follow a message's three paths (MT: senders -> mt -> carriers;
MO and DLR: carriers -> inbound -> suppression/ledger -> senders); see the README's
"Layout". ``components.build`` makes every long-lived object from the config.
"""
