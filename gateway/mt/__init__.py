"""The MT pipeline: a message from a sender, through its stages (sender ownership,
normalise, policy: classify, suppression lookup, footer), to the carrier pool."""
