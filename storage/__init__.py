"""Everything on disk: the server's metadata database and the client's cache and outbox.

No network code lives here; the server and the client call these repositories.
"""
