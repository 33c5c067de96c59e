"""Avro schemas in an Apicurio Registry: HTTP client, the local schemas/ registry, the lockfile."""
