"""File sync: the files.* handlers, block transfer frames, shared folders."""
