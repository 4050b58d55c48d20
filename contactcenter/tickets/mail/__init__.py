"""Email protocol code: pure functions over bytes and headers (parse, thread, loops, compose);
the SMTP listener and the outbox sender are the only modules that do I/O."""
