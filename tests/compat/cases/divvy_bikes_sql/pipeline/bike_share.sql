-- Databricks notebook source
-- DBTITLE 1,Bike share feeds: dock status, station directory and weather per station
-- MAGIC %md
-- MAGIC Streaming pipeline over the JSON responses of the bike share and weather APIs (Auto Loader in SQL).

-- COMMAND ----------

-- DBTITLE 1,Settings
-- Rain and snow fields are rare: let schema inference look at many files
SET spark.databricks.cloudFiles.schemaInference.sampleSize.numFiles = 100000

-- COMMAND ----------

-- DBTITLE 1,Bronze: dock status responses
CREATE OR REFRESH STREAMING TABLE bronze_dock_status
COMMENT "Dock status responses as received under /FileStore/DivvyBikes/api_response/station_status."
TBLPROPERTIES ("quality" = "bronze")
AS
SELECT * FROM STREAM read_files(
  "/FileStore/DivvyBikes/api_response/station_status",
  format => "json",
  inferColumnTypes => "true"
  );

-- COMMAND ----------

-- DBTITLE 1,Silver: one row per dock report
CREATE OR REFRESH STREAMING TABLE silver_dock_status (
  CONSTRAINT has_station EXPECT (station_id IS NOT NULL) ON VIOLATION DROP ROW,
  CONSTRAINT reported_within_a_day EXPECT (secs_since_last_reported < 86400)
  )
PARTITIONED BY (last_updated_date)
COMMENT "Dock reports with a station, partitioned by the feed's update date."
TBLPROPERTIES ("quality" = "silver")
AS
SELECT
  docks.station_id,
  docks.num_bikes_available,
  docks.num_bikes_disabled,
  docks.num_docks_available,
  docks.num_docks_disabled,
  docks.num_ebikes_available,
  docks.station_status,
  docks.is_renting,
  docks.is_returning,
  docks.last_reported,
  CAST(docks.last_reported AS timestamp) AS last_reported_ts,
  last_updated,
  last_updated_ts,
  date(last_updated_ts) AS last_updated_date,
  unix_timestamp(date_trunc('HOUR', last_updated_ts))  AS last_updated_hr,
  last_updated - docks.last_reported AS secs_since_last_reported
FROM (
  SELECT
    EXPLODE(data.stations) AS docks,
    last_updated,
    CAST(last_updated AS timestamp) AS last_updated_ts
  FROM STREAM(bronze_dock_status)
  );

-- COMMAND ----------

-- DBTITLE 1,Bronze: weather responses, one file per station
CREATE OR REFRESH STREAMING TABLE bronze_weather
PARTITIONED BY (dt_date)
COMMENT "Weather responses as received under /FileStore/DivvyBikes/api_response/weather_info."
TBLPROPERTIES ("quality" = "bronze")
AS
SELECT
  *,
  date(CAST(dt AS timestamp)) AS dt_date,
  regexp_extract(_metadata.file_name,"(.*)_(.*).json", 2) AS station_id,
  _metadata.file_name AS json_file_name
FROM STREAM read_files(
  "/FileStore/DivvyBikes/api_response/weather_info",
  format => "json",
  inferColumnTypes => "true",
  useIncrementalListing => "false"
  );

-- COMMAND ----------

-- DBTITLE 1,Silver: flattened weather
CREATE OR REFRESH STREAMING TABLE silver_weather (
CONSTRAINT has_station EXPECT (station_id IS NOT NULL)
ON VIOLATION DROP ROW
)
PARTITIONED BY (dt_date)
COMMENT "Flattened weather observations with a station,
partitioned by observation date."
TBLPROPERTIES ("quality" = "silver")
AS
SELECT
  weather.main AS weather_main,
  weather.description AS weather_description,
  station_id AS station_id,
  coord.lat AS coord_lat,
  coord.lon AS coord_lon,
  base AS base,
  main.temp AS main_temp,
  main.feels_like AS main_feels_like,
  main.temp_min AS main_temp_min,
  main.temp_max AS main_temp_max,
  main.pressure AS main_pressure,
  main.humidity AS main_humidity,
  visibility AS visibility,
  wind.speed AS wind_speed,
  wind.deg AS wind_deg,
  wind.gust AS wind_gust,
  clouds.all AS clouds_all,
  -- nvl(snow.1h,0) AS snow_1h,
  json_file_name AS json_file_name,
  dt AS dt,
  CAST(dt AS timestamp) AS dt_ts,
  dt_date AS dt_date,
  unix_timestamp(date_trunc('HOUR', CAST(dt AS timestamp)))  AS dt_hr,
  sys.type AS sys_type,
  sys.id AS sys_id,
  sys.country AS sys_country,
  sys.sunrise AS sys_sunrise,
  sys.sunset AS sys_sunset,
  timezone AS timezone,
  id AS id,
  name AS name,
  cod AS cod
FROM STREAM(bronze_weather);

-- COMMAND ----------

-- DBTITLE 1,Bronze: station directory responses
CREATE OR REFRESH STREAMING TABLE bronze_station_directory
COMMENT "Station directory responses as received under /FileStore/DivvyBikes/api_response/station_information."
TBLPROPERTIES ("quality" = "bronze")
AS
SELECT * FROM STREAM read_files(
  "/FileStore/DivvyBikes/api_response/station_information",
  format => "json",
  inferColumnTypes => "true"
  );

-- COMMAND ----------

-- DBTITLE 1,Temporary: one row per station and response
CREATE OR REFRESH TEMPORARY STREAMING TABLE station_directory_entries
AS
SELECT
  entry.station_id,
  entry.external_id,
  entry.name,
  entry.short_name,
  entry.station_type,
  entry.has_kiosk,
  entry.capacity,
  entry.eightd_has_key_dispenser,
  entry.electric_bike_surcharge_waiver,
  entry.lat,
  entry.lon,
  entry.rental_methods,
  entry.rental_uris,
  last_updated,
  last_updated_ts
FROM (
SELECT
  EXPLODE(data.stations) AS entry,
  last_updated,
  CAST(last_updated AS timestamp) AS last_updated_ts
FROM STREAM(bronze_station_directory)
);

-- COMMAND ----------

-- DBTITLE 1,Silver: the station directory
CREATE OR REFRESH STREAMING TABLE silver_station_directory
COMMENT "The latest directory entry of every station."
TBLPROPERTIES ("quality" = "silver");

-- COMMAND ----------

-- DBTITLE 1,Upsert the directory entries by station
APPLY CHANGES INTO silver_station_directory
FROM STREAM(station_directory_entries)
  KEYS (station_id)
  SEQUENCE BY last_updated;
