"""contactcenter."""
