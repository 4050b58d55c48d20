"""Reports: 15-minute interval figures per queue, agent and channel, from the interaction log."""
