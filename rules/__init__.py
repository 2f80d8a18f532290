"""stopgate rules package."""
