"""The Roost terminal app (Textual): thin screens and widgets over the client core."""
