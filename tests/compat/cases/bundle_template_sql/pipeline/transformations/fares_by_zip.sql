-- A sample transformation of the project template.
-- Change it, or add transformations next to it.

CREATE MATERIALIZED VIEW fares_by_zip AS
SELECT
    pickup_zip,
    SUM(fare_amount) AS total_fare
FROM taxi_trips
GROUP BY pickup_zip
