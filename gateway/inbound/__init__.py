"""What comes back from carriers: receipts routed to the sender that owns them (the DLR
id map, pending queues, notices between workers) and MOs, with STOP/START/HELP caught
and answered first and campaign attribution."""
