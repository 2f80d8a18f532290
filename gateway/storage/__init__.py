"""How stopgate reaches Redis (one server, Sentinel or Cluster) and what it checks of it."""
