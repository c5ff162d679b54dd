"""The client core shared by the CLI and the TUI: connection, home folder, cache, outbox."""
