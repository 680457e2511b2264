"""Accounts: users, sign-up and sign-in, GDPR rights."""
