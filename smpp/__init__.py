"""stopgate smpp package."""
