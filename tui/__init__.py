"""The Textual app over the client core (screens and widgets arrive with the TUI work)."""
