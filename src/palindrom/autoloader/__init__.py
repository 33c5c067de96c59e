"""Auto Loader (``cloudFiles``) for local runs, as a Spark Python streaming data source."""
