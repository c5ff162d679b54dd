"""Roost's wire format, shared by server and clients: envelopes, per-op structs, error codes, ids.

Nothing here does I/O; everything can be exercised with plain function calls.
"""
