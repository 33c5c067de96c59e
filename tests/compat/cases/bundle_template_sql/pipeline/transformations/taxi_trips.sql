-- A sample transformation of the project template.
-- Change it, or add transformations next to it.

CREATE MATERIALIZED VIEW taxi_trips AS
SELECT
    pickup_zip,
    fare_amount,
    trip_distance
FROM samples.nyctaxi.trips
