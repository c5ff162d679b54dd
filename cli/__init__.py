"""The `roost` command line: Typer commands that parse, call the client core, and print."""
