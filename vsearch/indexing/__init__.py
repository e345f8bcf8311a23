"""Indexing jobs: finding sources, and the batch job that runs the indexer stages into the store."""
