"""Posts and timelines: posts, follows, profiles, blocks and mutes, notifications, search."""
