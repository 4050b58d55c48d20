"""Web chat: an embeddable widget whose conversations the queue engine routes like calls."""
