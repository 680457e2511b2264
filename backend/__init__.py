"""Calcapp's web backend (Litestar)."""
