"""Health and metrics of the running server, read from every context on demand."""
