-- Durable, ordered, signed delivery of state-change events (issue 4, item 5).
--
-- * event.seq: a number that grows with every recorded event, the order in
--   which deliveries are made and the position a replay cursor names.
-- * subscription / webhook: the delivery state of each target: a lease
--   (holder, fencing token, expiry) so that one server at a time delivers a
--   target's events, the cursor (seq of the last event delivered), when the
--   next attempt is due and, once the failure bound has passed, since when the
--   target is dead. Subscriptions also get the HMAC secret of their signature.
-- * event_delivery / webhook_delivery: one row per (target, event), with its
--   retry bookkeeping. Legacy webhooks get rows like subscriptions do.
-- Kept column for column identical to the PostgreSQL migration.

ALTER TABLE event ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
UPDATE event SET seq = r.n
    FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY timestamp, id) AS n FROM event) AS r
    WHERE event.id = r.id;
CREATE INDEX event_seq_idx ON event (seq);

ALTER TABLE subscription ADD COLUMN secret TEXT NOT NULL DEFAULT '';
ALTER TABLE subscription ADD COLUMN delivery_cursor BIGINT NOT NULL DEFAULT 0;
ALTER TABLE subscription ADD COLUMN delivery_next_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE subscription ADD COLUMN delivery_dead_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE subscription ADD COLUMN delivery_lease_holder TEXT NULL;
ALTER TABLE subscription ADD COLUMN delivery_lease_token BIGINT NOT NULL DEFAULT 0;
ALTER TABLE subscription ADD COLUMN delivery_lease_expires_at BIGINT NOT NULL DEFAULT 0;

ALTER TABLE webhook ADD COLUMN last_delivery_status TEXT NOT NULL DEFAULT '';
ALTER TABLE webhook ADD COLUMN last_delivery_attempt_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE webhook ADD COLUMN delivery_cursor BIGINT NOT NULL DEFAULT 0;
ALTER TABLE webhook ADD COLUMN delivery_next_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE webhook ADD COLUMN delivery_dead_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE webhook ADD COLUMN delivery_lease_holder TEXT NULL;
ALTER TABLE webhook ADD COLUMN delivery_lease_token BIGINT NOT NULL DEFAULT 0;
ALTER TABLE webhook ADD COLUMN delivery_lease_expires_at BIGINT NOT NULL DEFAULT 0;

ALTER TABLE event_delivery ADD COLUMN event_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE event_delivery ADD COLUMN next_attempt_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE event_delivery ADD COLUMN first_failure_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE event_delivery ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
ALTER TABLE event_delivery ADD COLUMN delivered_at BIGINT NOT NULL DEFAULT 0;
UPDATE event_delivery SET event_seq = COALESCE(
    (SELECT seq FROM event WHERE event.id = event_delivery.event_id), 0);
CREATE INDEX event_delivery_pending_idx ON event_delivery (subscription_id, status, event_seq);
CREATE UNIQUE INDEX event_delivery_target_event_idx ON event_delivery (subscription_id, event_id);

CREATE TABLE webhook_delivery (
    id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL,
    webhook_id TEXT NOT NULL,
    status TEXT NOT NULL,
    last_attempt BIGINT NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    event_seq BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL DEFAULT 0,
    first_failure_at BIGINT NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    delivered_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX webhook_delivery_pending_idx ON webhook_delivery (webhook_id, status, event_seq);
CREATE UNIQUE INDEX webhook_delivery_target_event_idx ON webhook_delivery (webhook_id, event_id);
