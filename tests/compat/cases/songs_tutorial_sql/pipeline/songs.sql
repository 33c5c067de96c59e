-- Streaming table: the tab-separated song files as they land
CREATE OR REFRESH STREAMING TABLE tracks_raw
COMMENT "Song features and metadata as landed, one row per track."
AS SELECT *
FROM STREAM read_files(
  '/databricks-datasets/songs/data-001/part*',
  format => "csv",
  header => "false",
  delimiter => "\t",
  schema => """
    artist_id STRING,
    artist_lat DOUBLE,
    artist_long DOUBLE,
    artist_location STRING,
    artist_name STRING,
    duration DOUBLE,
    end_of_fade_in DOUBLE,
    key INT,
    key_confidence DOUBLE,
    loudness DOUBLE,
    release STRING,
    song_hotnes DOUBLE,
    song_id STRING,
    start_of_fade_out DOUBLE,
    tempo DOUBLE,
    time_signature INT,
    time_signature_confidence DOUBLE,
    title STRING,
    year INT,
    partial_sequence STRING
  """,
  schemaEvolutionMode => "none");

-- Materialized view: checked tracks, one column renamed
CREATE OR REFRESH MATERIALIZED VIEW tracks_prepared(
CONSTRAINT has_artist EXPECT (artist_name IS NOT NULL),
CONSTRAINT has_title EXPECT (track_title IS NOT NULL),
CONSTRAINT positive_duration EXPECT (duration > 0)
)
COMMENT "Tracks checked and shaped for analysis."
AS SELECT artist_id, artist_name, duration, release, tempo, time_signature, title AS track_title, year
FROM tracks_raw;

-- Materialized view: filtered, aggregated and sorted
CREATE OR REFRESH MATERIALIZED VIEW tracks_per_artist_and_year
COMMENT "How many tracks each artist released each year, most prolific first."
AS SELECT
  artist_name,
  year,
  COUNT(*) AS total_number_of_tracks
FROM tracks_prepared
WHERE year > 0
GROUP BY artist_name, year
ORDER BY total_number_of_tracks DESC, year DESC;
