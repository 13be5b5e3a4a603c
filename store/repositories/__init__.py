"""Repositories: one per aggregate, each bound to the unit of work's AsyncSession."""
