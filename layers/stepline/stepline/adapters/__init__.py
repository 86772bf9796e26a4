"""Implementations of stepline.ports: ``aws`` (boto3) and ``local`` (files, SQLite, git, subprocess)."""
