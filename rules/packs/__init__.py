"""What the compliance packs ship besides the send-time rules (those are rules.sendtime).

- :mod:`~rules.packs.keywords` -- MO keywords (opt-out, opt-in, help) and the reply
  texts, per language (``keywords.toml``).
"""
