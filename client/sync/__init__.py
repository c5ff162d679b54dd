"""The sync engine: scan, index, watch, transfer, and the pure three-way decision rules."""
