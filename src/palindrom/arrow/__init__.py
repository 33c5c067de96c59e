"""Python values into Arrow batches of a Spark schema (shared by every decoder)."""
