"""The HTTP listener: the send API, suppressions and reports routes, the opt-out landing
pages, and the connection guard in front of them."""
