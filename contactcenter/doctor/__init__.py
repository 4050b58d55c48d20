"""contactcenter doctor: checks an Asterisk configuration against ours."""
