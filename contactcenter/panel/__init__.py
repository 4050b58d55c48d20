"""The agent desktop, the supervisors' wallboard and the admin console: pages over every context."""
