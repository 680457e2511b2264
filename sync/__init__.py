"""The sync protocol and its engine: independent of the web backend (which imports it)."""
