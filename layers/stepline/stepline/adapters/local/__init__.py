"""Adapters for one machine: no AWS account needed."""
