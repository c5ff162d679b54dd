"""Chat: conversations, messages and receipts, their group commit, presence."""
