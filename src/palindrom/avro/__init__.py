"""Avro schemas and their Spark SQL types."""
