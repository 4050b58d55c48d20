"""The knowledge base: articles, their search, the public help center and agent assist."""
