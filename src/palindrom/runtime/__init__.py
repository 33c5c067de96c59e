"""Local runtime: runs Databricks DLT / Lakeflow pipeline files on open-source Spark Declarative Pipelines."""
