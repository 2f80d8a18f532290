"""Send-time rules for promotional traffic (see the modules)."""
