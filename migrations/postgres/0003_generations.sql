-- Durable generations and exact, shared queue entries.

-- The exact component each execution must run with: workers claim only digests they hold.
ALTER TABLE node_executions ADD COLUMN plugin_digest TEXT NOT NULL DEFAULT '';
UPDATE node_executions
SET plugin_digest = COALESCE(CAST(request AS jsonb) -> 'plugin' ->> 'digest', '');

-- Work in flight is shared by cache key: at most one queued or running execution per key.
-- Duplicates queued before this rule are superseded by the oldest of them.
UPDATE node_executions
SET status = 'cancelled', error = 'superseded: the same work was already queued',
    finished_at = enqueued_at, lease_expires_at = NULL
WHERE status IN ('queued', 'running') AND EXISTS (
    SELECT 1 FROM node_executions AS older
    WHERE older.cache_key = node_executions.cache_key
      AND older.status IN ('queued', 'running') AND older.id < node_executions.id);
CREATE UNIQUE INDEX node_executions_in_flight ON node_executions (cache_key)
    WHERE status IN ('queued', 'running');
CREATE INDEX node_executions_claimable ON node_executions (tier, plugin_digest) WHERE status = 'queued';

-- Assets count their changes: an update made on an older version is refused, not lost.
ALTER TABLE assets ADD COLUMN version BIGINT NOT NULL DEFAULT 1;

-- Content-addressed bytes that uploads and removals take turns on: an upload pins a key
-- before it checks or writes the bytes, a removal marks the key while it deletes them, each
-- under the key's row lock, and neither starts while the other holds it, so no asset row
-- ever points at deleted bytes.
CREATE TABLE stored_objects (
    object_key     TEXT PRIMARY KEY,
    removing_since BIGINT
);
CREATE TABLE object_pins (
    pin_id       TEXT NOT NULL,
    object_key   TEXT NOT NULL,
    pinned_until BIGINT NOT NULL,
    PRIMARY KEY (object_key, pin_id)
);
CREATE INDEX object_pins_by_pin ON object_pins (pin_id);

-- A generation: its targets' upstream closure, brought up to date step by step without the
-- caller. `graph` is the part of the project's graph the plan touches, as it was asked.
CREATE TABLE generations (
    id            TEXT PRIMARY KEY,
    project_id    TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    status        TEXT NOT NULL CHECK (status IN ('running', 'done')),
    -- Counts the transactions that moved steps; each step records the one that last moved it,
    -- so a reader asks for what changed since the revision it has seen.
    revision      BIGINT NOT NULL DEFAULT 0,
    requested_by  TEXT,
    created_at    BIGINT NOT NULL,
    finished_at   BIGINT
);
-- What was asked and the planned graph, written once: apart from the row every pass updates,
-- so a pass never rewrites (nor a reader walks) a large graph.
CREATE TABLE generation_plans (
    generation_id TEXT PRIMARY KEY REFERENCES generations (id) ON DELETE CASCADE,
    request       TEXT NOT NULL,
    graph         TEXT NOT NULL
);
CREATE INDEX generations_running ON generations (created_at) WHERE status = 'running';
CREATE INDEX generations_by_project ON generations (project_id, created_at);

-- One node of a generation. `upstream` lists (JSON) the steps whose outputs it takes.
CREATE TABLE generation_steps (
    generation_id  TEXT NOT NULL REFERENCES generations (id) ON DELETE CASCADE,
    node_id        TEXT NOT NULL,
    position       BIGINT NOT NULL,
    upstream       TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('waiting', 'queued', 'reused', 'succeeded', 'failed', 'skipped')),
    execution_id   TEXT REFERENCES node_executions (id) ON DELETE SET NULL,
    take_id        TEXT,
    error          TEXT,
    updated_at     BIGINT NOT NULL,
    revision       BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (generation_id, node_id)
);
CREATE INDEX generation_steps_by_revision ON generation_steps (generation_id, revision);
-- Whether a generation is complete is asked after every pass: only its unfinished steps count.
CREATE INDEX generation_steps_unfinished ON generation_steps (generation_id)
    WHERE status IN ('waiting', 'queued');
CREATE INDEX generation_steps_by_execution ON generation_steps (execution_id) WHERE status = 'queued';
