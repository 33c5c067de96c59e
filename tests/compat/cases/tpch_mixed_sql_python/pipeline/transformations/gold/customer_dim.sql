-- Customer dimension

CREATE MATERIALIZED VIEW customer_dim AS
SELECT
    c.c_custkey                         as customer_key,
    c.c_name                            as customer_name,
    c.c_address                         as customer_address,
    c.c_phone                           as customer_phone,
    c.c_mktsegment                      as customer_segment,
    coalesce(n.n_name, 'Unknown')       as customer_nation,
    coalesce(r.r_name, 'Unknown')       as customer_region
FROM
    clean_customer c
LEFT JOIN
    clean_nation n ON c.c_nationkey = n.n_nationkey
LEFT JOIN
    clean_region r ON n.n_regionkey = r.r_regionkey
