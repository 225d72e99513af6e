-- Up Migration

-- The webhook outbox. Events are recorded in the transaction that writes the change they
-- tell of; `promote` turns them into one delivery per endpoint, and dispatchers on every
-- instance claim deliveries with FOR UPDATE SKIP LOCKED. Times come from the instances
-- (the `now` they pass), not from the database clock.

CREATE TABLE webhook_endpoints (
  id text COLLATE "C" PRIMARY KEY,
  url text NOT NULL,
  events text[] NOT NULL,
  -- A glob of document names; null for every document.
  documents text,
  format text,
  secret text NOT NULL,
  created_at timestamptz NOT NULL,
  disabled_at timestamptz,
  failing_since timestamptz
);

-- The pending document.updated records of a document, coalesced into one row until it is due
-- (quiet since last_at, or waiting since first_at).
CREATE TABLE outbox_markers (
  document text COLLATE "C" PRIMARY KEY,
  first_at timestamptz NOT NULL,
  last_at timestamptz NOT NULL,
  -- Names in the order they came, each once, at most 20.
  editors text[] NOT NULL,
  data jsonb NOT NULL
);
CREATE INDEX outbox_markers_first_at ON outbox_markers (first_at);
CREATE INDEX outbox_markers_last_at ON outbox_markers (last_at);

-- Recorded events other than document.updated, promoted in id (creation) order.
CREATE TABLE outbox_events (
  id text COLLATE "C" PRIMARY KEY,
  type text NOT NULL,
  document text COLLATE "C" NOT NULL,
  at timestamptz NOT NULL,
  editors text[] NOT NULL,
  data jsonb NOT NULL
);

-- One event for one endpoint. Its id is the webhook-id, the same on every attempt.
CREATE TABLE webhook_deliveries (
  id text COLLATE "C" PRIMARY KEY,
  endpoint_id text COLLATE "C" NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
  -- The whole event (id, type, document, at, editors, data), as sent.
  event jsonb NOT NULL,
  status text NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts integer NOT NULL DEFAULT 0,
  last_attempt_at timestamptz,
  last_status integer,
  last_error text,
  -- When a pending delivery is due, or its claim's lease ends; null once settled.
  next_attempt_at timestamptz,
  created_at timestamptz NOT NULL
);
-- What claim reads: pending deliveries, soonest due first.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, id) WHERE status = 'pending';
-- An endpoint's deliveries, newest first (listing, pruning, deleting).
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);

-- Down Migration

DROP TABLE webhook_deliveries;
DROP TABLE outbox_events;
DROP TABLE outbox_markers;
DROP TABLE webhook_endpoints;
