-- Ten-second event counts, the watermark taken from an existing timestamp column
CREATE OR REFRESH STREAMING TABLE counts_by_ts
  AS SELECT window(event_time, '10 seconds') as w, count(*) as CNT
  FROM
  STREAM sensor_events WATERMARK event_time DELAY OF INTERVAL 10 SECONDS AS stream
  GROUP BY window(event_time, '10 seconds');

-- The same counts, the watermark column derived from a text column
CREATE OR REFRESH STREAMING TABLE counts_by_text
  AS SELECT window(event_time, '10 seconds') as w, count(*) as CNT
  FROM
  STREAM sensor_events_text WATERMARK to_timestamp(event_time_text) AS event_time DELAY OF INTERVAL 10 SECONDS AS stream
  GROUP BY window(event_time, '10 seconds');
