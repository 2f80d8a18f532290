"""The sender side of the MT path: the SMPP server senders bind to, bind pacing, and the
parts of multipart messages answered before their message completed."""
