"""The app's screens: one per area, plus login, help and confirmation dialogs."""
