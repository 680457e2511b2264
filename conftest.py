"""The suites' fixtures are the toolkit's (testkit/fixtures.py)."""

pytest_plugins = ["testkit.fixtures"]
