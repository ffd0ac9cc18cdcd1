"""A local Confluence Cloud (REST v1) for the demo, the tests and the benchmarks.

It imports neither `ingest` nor `retrieval`.
"""
