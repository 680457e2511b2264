"""The test toolkit shared by tests/, e2e/ and bench/: real processes and servers (support,
mailbox, stripe_support), clients (api, sync_client), browser helpers, the calculator's Python
reference and cases, and the pytest fixtures (fixtures.py, loaded by the root conftest.py
through `pytest_plugins`). Nothing here imports from tests/, e2e/ or bench/."""
