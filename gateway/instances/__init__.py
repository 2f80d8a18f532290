"""Several instances (hosts) sharing one Redis behave as one gateway: who is live
(membership), each one's share of the limits that hold in total, and the abuse counters
they share."""
