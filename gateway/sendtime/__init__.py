"""Send-time rules on the MT path: the injectable clock, quiet hours and frequency caps."""
