-- Part dimension

CREATE MATERIALIZED VIEW part_dim AS
SELECT
    p.p_partkey                         as part_key,
    p.p_mfgr                            as part_mfgr,
    p.p_brand                           as part_brand,
    p.p_type                            as part_type,
    p.p_size                            as part_size,
    p.p_container                       as part_container,
    p.p_retailprice                     as part_retailprice
FROM
    clean_part p
