-- Up Migration

-- Names and version ids compare and sort by code point (COLLATE "C"), as JavaScript
-- strings and the other stores do, not by the database's locale.

-- One row per document name ever written. `revision` counts appends (compaction keeps it);
-- a deleted document keeps its row as a tombstone until it is undeleted.
CREATE TABLE documents (
  name text COLLATE "C" PRIMARY KEY,
  revision bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted boolean NOT NULL DEFAULT false
);

-- Append-only Yjs updates; compaction replaces some rows of a document by one merged row
-- that carries the newest revision it holds.
CREATE TABLE updates (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text COLLATE "C" NOT NULL,
  revision bigint NOT NULL,
  data bytea NOT NULL
);
CREATE INDEX updates_name_revision ON updates (name, revision);

CREATE TABLE versions (
  name text COLLATE "C" NOT NULL,
  id text COLLATE "C" NOT NULL,
  created_at timestamptz NOT NULL,
  label text,
  author text,
  kept boolean NOT NULL,
  size integer NOT NULL,
  state bytea NOT NULL,
  PRIMARY KEY (name, id)
);

-- checkWritable writes and deletes a row here, touching no document.
CREATE TABLE canary (
  id uuid PRIMARY KEY,
  written_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration

DROP TABLE canary;
DROP TABLE versions;
DROP TABLE updates;
DROP TABLE documents;
