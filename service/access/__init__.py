"""Who may see and change what: actors, roles and scope."""
