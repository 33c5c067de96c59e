-- Member records kept in step with a change feed table maintained outside this pipeline.

-- Current state (SCD type 1); a TRUNCATE event empties the table.
CREATE OR REFRESH STREAMING TABLE members_reset;

CREATE FLOW members_reset_flow AS AUTO CDC INTO
  members_reset
FROM
  stream(cdc_source.members_resettable)
KEYS
  (memberId)
APPLY AS DELETE WHEN
  operation = "DELETE"
APPLY AS TRUNCATE WHEN
  operation = "TRUNCATE"
SEQUENCE BY
  sequenceNum
COLUMNS * EXCEPT
  (operation, sequenceNum)
STORED AS
  SCD TYPE 1;

-- Current state (SCD type 1).
CREATE OR REFRESH STREAMING TABLE members_current;

CREATE FLOW members_current_flow AS AUTO CDC INTO
  members_current
FROM
  stream(cdc_source.members)
KEYS
  (memberId)
APPLY AS DELETE WHEN
  operation = "DELETE"
SEQUENCE BY
  sequenceNum
COLUMNS * EXCEPT
  (operation, sequenceNum)
STORED AS
  SCD TYPE 1;

-- Every version (SCD type 2).
CREATE OR REFRESH STREAMING TABLE members_history;

CREATE FLOW members_history_flow
AS AUTO CDC INTO members_history
FROM stream(cdc_source.members)
KEYS (memberId)
APPLY AS DELETE WHEN
  operation = "DELETE"
SEQUENCE BY sequenceNum
COLUMNS * EXCEPT
  (operation, sequenceNum)
STORED AS SCD TYPE 2;

-- A new version only when something other than the city changes.
CREATE OR REFRESH STREAMING TABLE members_name_history;

CREATE FLOW members_name_history_flow
AS AUTO CDC INTO members_name_history
FROM stream(cdc_source.members)
KEYS (memberId)
APPLY AS DELETE WHEN
  operation = "DELETE"
SEQUENCE BY sequenceNum
COLUMNS * EXCEPT
  (operation, sequenceNum)
STORED AS SCD TYPE 2
TRACK HISTORY ON * EXCEPT
  (city);
