"""The carrier side: the pool of SMPP links to upstreams, dispatch over them, each
session's binding and keepalive, rate limits and routing by destination."""
