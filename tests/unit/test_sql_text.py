"""SQL text helpers: string literals read as Spark reads them, and table names found and mapped."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from palindrom.runtime.sqltext import map_table_references, table_references, tokens, unquote


def test_escapes_follow_spark_unescape_sql_string():
    assert unquote(r"'a\nb'") == "a\nb"
    assert unquote(r"'tab\there'") == "tab\there"
    assert unquote(r"'\u00e9t\u00E9'") == "été"
    assert unquote(r"'it\'s'") == "it's"
    assert unquote("'it''s'") == "it's"
    assert unquote(r"'100\%'") == "100\\%"        # LIKE escapes keep their backslash
    assert unquote(r"'a\_b'") == "a\\_b"
    assert unquote(r"'\q'") == "q"                # an unknown escape is the character itself
    assert unquote('"say ""hi"""') == 'say "hi"'


def test_triple_quotes_hold_text_as_written():
    literal = "'''id INT,\n  name STRING -- it's \\n raw'''"
    assert unquote(literal) == "id INT,\n  name STRING -- it's \\n raw"
    assert [t.kind for t in tokens(f"SELECT {literal} AS s")] == ["word", "string", "word", "word"]


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\\"), max_size=40))
def test_a_doubled_quote_round_trips_any_text(text):
    assert unquote("'" + text.replace("'", "''") + "'") == text


def test_table_references_skip_table_valued_functions_and_subqueries():
    query = ("SELECT * FROM STREAM(main.sales.orders) o JOIN customers c ON o.id = c.id, "
             "read_files('/x') r, range(10) n JOIN (SELECT 1) s")
    assert table_references(query) == ["main.sales.orders", "customers"]


def test_map_table_references_rewrites_only_names_read():
    query = "SELECT orders.id, 'FROM orders' AS note FROM `cat`.`sch`.orders JOIN lookup USING (id)"
    mapped = map_table_references(query, lambda name: "`orders`" if name.endswith(".orders") else None)
    assert mapped == "SELECT orders.id, 'FROM orders' AS note FROM `orders` JOIN lookup USING (id)"
