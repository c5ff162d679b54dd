"""The Roost server: one asyncio `websockets` server, an op router, one module per capability."""
