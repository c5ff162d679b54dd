"""Accounts: registration, logins and devices, passwords, admin ops on accounts."""
