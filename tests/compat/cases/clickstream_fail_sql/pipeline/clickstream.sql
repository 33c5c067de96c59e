-- Databricks notebook source
CREATE LIVE TABLE clicks_raw
COMMENT "Raw clickstream records as landed."
TBLPROPERTIES ("quality" = "bronze")
AS SELECT * FROM json.`/databricks-datasets/clickstream/raw/`

-- COMMAND ----------

CREATE LIVE TABLE clicks_clean(
  CONSTRAINT has_page EXPECT (current_page_title IS NOT NULL),
  CONSTRAINT positive_count EXPECT (click_count > 0) ON VIOLATION FAIL UPDATE
)
COMMENT "Typed and renamed clicks."
TBLPROPERTIES ("quality" = "silver")
AS SELECT
  curr_title AS current_page_title,
  CAST(n AS INT) AS click_count,
  prev_title AS previous_page_title
FROM live.clicks_raw

-- COMMAND ----------

CREATE LIVE TABLE top_spark_referrers
COMMENT "The pages that send the most clicks to Apache_Spark."
TBLPROPERTIES ("quality" = "gold")
AS SELECT previous_page_title AS referrer, click_count
FROM live.clicks_clean
WHERE current_page_title = 'Apache_Spark'
ORDER BY click_count DESC
LIMIT 3
