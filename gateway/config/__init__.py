"""The configuration: the typed model, the schema every key is checked against,
``STOPGATE_*`` environment overrides, and value parsers."""
