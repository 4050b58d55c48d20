"""Quality: transcripts of recorded calls, scorecards, evaluations (docs/qa.md)."""
