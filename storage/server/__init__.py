"""The server's repositories: every table the server keeps, one module per kind of record."""
