"""The client's local data: the answer cache, the chat store, the outbox and the sync index."""
