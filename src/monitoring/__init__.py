"""Nightly status job for Azure Data Factory pipelines: run logs -> Delta tables of daily statuses."""

__version__ = "0.1.0"
