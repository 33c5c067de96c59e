-- One streaming table, fed by two flows: a stream of new sign-ups and a one-time backfill.
CREATE OR REFRESH STREAMING TABLE subscribers;

-- the ongoing flow into subscribers:
CREATE FLOW subscribers_flow AS
INSERT INTO subscribers
SELECT * FROM stream(signups.subscribers);

-- the one-time flow into subscribers:
CREATE FLOW backfill_subscribers AS
INSERT INTO ONCE subscribers
SELECT * FROM subscriber_backfill_table;
