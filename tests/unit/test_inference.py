"""Auto Loader schema inference of single values and their merge, as Spark infers JSON and CSV."""

from __future__ import annotations

from pyspark.sql import types as T

from palindrom.autoloader.schema import infer_value, merge_types, without_null_types


def test_json_values_keep_json_types_and_strings_stay_strings():
    assert infer_value(3, typed=True) == T.LongType()
    assert infer_value(2**70, typed=True) == T.DecimalType(22, 0)
    assert infer_value(1.5, typed=True) == T.DoubleType()
    assert infer_value(True, typed=True) == T.BooleanType()
    assert infer_value("42", typed=True) == T.StringType()            # JSON "42" is text
    assert infer_value(3, typed=False) == T.StringType()              # without inferColumnTypes


def test_csv_text_is_typed_as_spark_csv_inference_reads_it():
    assert infer_value("42", typed=True, text=True) == T.IntegerType()
    assert infer_value("3000000000", typed=True, text=True) == T.LongType()
    assert infer_value("12345678901234567890", typed=True, text=True) == T.DecimalType(20, 0)
    assert infer_value("1.25", typed=True, text=True) == T.DoubleType()
    assert infer_value("2024-03-01 10:00:00", typed=True, text=True) == T.TimestampType()
    assert infer_value("TRUE", typed=True, text=True) == T.BooleanType()
    assert infer_value("abc", typed=True, text=True) == T.StringType()


def test_nulls_take_the_other_values_type_or_string():
    column = [infer_value(v, typed=True) for v in (None, 1, None)]
    assert merge_types(column) == T.LongType()
    assert without_null_types(merge_types([infer_value(None, typed=True)] * 2)) == T.StringType()
    nested = merge_types([infer_value({"a": None, "b": []}, typed=True), infer_value({"b": [1.5]}, typed=True)])
    assert without_null_types(nested) == T.StructType([T.StructField("a", T.StringType()),
                                                        T.StructField("b", T.ArrayType(T.DoubleType()))])


def test_numbers_widen_and_mixed_kinds_become_strings():
    assert merge_types([T.IntegerType(), T.LongType()]) == T.LongType()
    assert merge_types([T.LongType(), T.DoubleType()]) == T.DoubleType()
    assert merge_types([T.LongType(), T.DecimalType(22, 0)]) == T.DecimalType(22, 0)
    assert merge_types([T.LongType(), T.BooleanType()]) == T.StringType()
