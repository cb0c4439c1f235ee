"""Imported once by the suite's forkserver: every child starts with ecohub and GX warm."""

from tests.faults.harness import warm

warm()
