"""Billing: the premium subscription and its payments."""
