"""Store fault tests: the ``cluster`` fixture (a PostgreSQL cluster of the test's own, see pg_cluster.py)."""

from tests.store.pg_cluster import cluster  # noqa: F401  (a fixture)
