"""Kafka: the bronze source on Databricks and the producer that writes each wire format."""
