-- Change data capture of the client table of an operational database. A capture tool
-- (Debezium, DMS, ...) lands every change as a JSON document; the pipeline rebuilds the table.

-- 1. Raw change events, picked up by Auto Loader
CREATE STREAMING TABLE client_changes
COMMENT "Client change events picked up incrementally from the landing volume"
AS SELECT * FROM cloud_files("/Volumes/${catalog}/${schema}/raw_data/clients", "json", map("cloudFiles.inferColumnTypes", "true"));


-- 2. Only well-formed events go on
CREATE STREAMING TABLE client_changes_clean(
  CONSTRAINT id_present EXPECT (id IS NOT NULL) ON VIOLATION DROP ROW,
  CONSTRAINT known_operation EXPECT (operation IN ('APPEND', 'DELETE', 'UPDATE')) ON VIOLATION DROP ROW,
  CONSTRAINT parsed_json EXPECT (_rescued_data IS NULL) ON VIOLATION DROP ROW
)
COMMENT "Change events with an id, a known operation and nothing rescued"
AS SELECT *
FROM STREAM(client_changes);


-- 3. The client table as it is now
CREATE STREAMING TABLE clients
  COMMENT "Current clients, rebuilt from the change events";

APPLY CHANGES INTO clients
FROM stream(client_changes_clean)
  KEYS (id)
  APPLY AS DELETE WHEN operation = "DELETE"
  SEQUENCE BY operation_date --the order of the changes at the source
  COLUMNS * EXCEPT (operation, operation_date, _rescued_data);


-- 4. Every version of every client (slowly changing dimension, type 2)
CREATE STREAMING TABLE SCD2_clients
  COMMENT "Client history, one row per version";

APPLY CHANGES INTO SCD2_clients
FROM stream(client_changes_clean)
  KEYS (id)
  APPLY AS DELETE WHEN operation = "DELETE"
  SEQUENCE BY operation_date
  COLUMNS * EXCEPT (operation, operation_date, _rescued_data)
  STORED AS SCD TYPE 2 ;
