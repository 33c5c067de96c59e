-- Sales fact, one row per order line

CREATE MATERIALIZED VIEW sales_fact AS
SELECT
    -- Keys of the dimensions
    cast(date_format(o.o_orderdate, 'yyyyMMdd') as int)       as calendar_order_id,
    cast(date_format(li.l_commitdate, 'yyyyMMdd') as int)     as calendar_commit_id,
    cast(date_format(li.l_receiptdate, 'yyyyMMdd') as int)    as calendar_receipt_id,
    cast(date_format(li.l_shipdate, 'yyyyMMdd') as int)       as calendar_ship_id,
    o.o_custkey                                               as customer_key,
    li.l_partkey                                              as part_key,
    li.l_suppkey                                              as supplier_key,

    -- Measures
    li.l_orderkey                                             as order_header_code,
    li.l_linenumber                                           as order_line_code,
    li.l_quantity                                             as order_quantity,
    li.l_extendedprice                                        as order_extended_price_usd,
    li.l_discount                                             as order_discount_usd,
    li.l_tax                                                  as order_tax_usd,
    ps.ps_supplycost                                          as part_supply_cost_usd,
    timediff(day, o.o_orderdate, li.l_commitdate)             as order_commit_lag_days,
    timediff(day, o.o_orderdate, li.l_receiptdate)            as order_receipt_lag_days,
    timediff(day, o.o_orderdate, li.l_shipdate)               as order_ship_lag_days

FROM
    clean_lineitem as li
LEFT JOIN
    clean_orders as o ON li.l_orderkey = o.o_orderkey
LEFT JOIN
    clean_partsupp as ps ON li.l_partkey = ps.ps_partkey AND li.l_suppkey = ps.ps_suppkey
