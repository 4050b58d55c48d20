"""The voice channel: queue glue over the AGI session, connected-call controls, callbacks."""
