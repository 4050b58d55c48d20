"""Several nodes on one PostgreSQL: one leader routes, the others stand by (docs/deploy.md)."""
