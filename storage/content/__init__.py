"""File content shared by server and client: chunking, the block codec and block stores."""
