"""stopgate gateway package."""
