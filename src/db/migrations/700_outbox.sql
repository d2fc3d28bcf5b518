-- The outbox: a domain event that other systems must hear about (webhooks,
-- notifications, e-mail) is written in the same transaction as the change it
-- announces, then delivered from here by the relay (src/outbox). A crash
-- between the commit and the delivery loses nothing: the row waits.
CREATE TABLE outbox (
  id uuid PRIMARY KEY,
  -- commit order, for delivering events in the order they happened
  seq bigint GENERATED ALWAYS AS IDENTITY,
  event text NOT NULL,
  payload jsonb NOT NULL,
  occurred_at timestamptz NOT NULL,
  -- relay passes that left a handler failing (the event is retried at the next sweep)
  attempts integer NOT NULL DEFAULT 0,
  last_error text,
  -- every handler of the event has run
  delivered_at timestamptz
);
CREATE INDEX outbox_pending ON outbox (seq) WHERE delivered_at IS NULL;

-- Which handler has already run for which event: a relay pass that dies half
-- way does not run the finished handlers again.
CREATE TABLE outbox_handled (
  event_id uuid NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
  handler text NOT NULL,
  handled_at timestamptz NOT NULL,
  PRIMARY KEY (event_id, handler)
);

-- One delivery per event and subscription, however often the relay runs the
-- webhook handler (deliveries from before the outbox have no event id).
ALTER TABLE webhook_deliveries ADD COLUMN event_id uuid;
CREATE UNIQUE INDEX webhook_deliveries_once ON webhook_deliveries (event_id, subscription_id);
