"""The PostgreSQL figures: one fire against raw psycopg, and concurrent writers."""

from __future__ import annotations


def postgres_figures(home, url, quick, samples):
    return []
