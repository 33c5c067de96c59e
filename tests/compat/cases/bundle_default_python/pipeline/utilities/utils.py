from pyspark.sql.functions import col, when


def distance_km(distance_col):
    """Miles to kilometres."""
    return distance_col * 1.60934


def format_currency(amount_col):
    """An amount as a two-decimal number."""
    return when(col(amount_col).isNotNull(), col(amount_col).cast("decimal(10,2)"))
