-- Supplier dimension

CREATE MATERIALIZED VIEW supplier_dim AS
SELECT
    s.s_suppkey                         as supplier_key,
    s.s_name                            as supplier_name,
    s.s_address                         as supplier_address,
    s.s_phone                           as supplier_phone,
    coalesce(n.n_name, 'Unknown')       as supplier_nation,
    coalesce(r.r_name, 'Unknown')       as supplier_region
FROM
    clean_supplier s
LEFT JOIN
    clean_nation n ON s.s_nationkey = n.n_nationkey
LEFT JOIN
    clean_region r ON n.n_regionkey = r.r_regionkey
