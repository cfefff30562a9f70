-- Core tables of Movie Director Canvas (SQLite, the embedded default).
-- Times are Unix milliseconds; ids are opaque text; JSON is stored as text.

CREATE TABLE users (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    email       TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE projects (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL CHECK (length(trim(name)) > 0),
    owner_id    TEXT NOT NULL REFERENCES users (id),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE project_members (
    project_id  TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role        TEXT NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
    PRIMARY KEY (project_id, user_id)
);

CREATE TABLE graph_states (
    project_id  TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    version     INTEGER NOT NULL CHECK (version > 0),
    snapshot    TEXT NOT NULL,
    author_id   TEXT REFERENCES users (id),
    message     TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (project_id, version)
);

CREATE TABLE graph_sessions (
    project_id        TEXT PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    holder            TEXT NOT NULL,
    lease_expires_at  INTEGER NOT NULL,
    acquired_at       INTEGER NOT NULL
);

CREATE TABLE graph_templates (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    version      TEXT NOT NULL,
    category     TEXT NOT NULL DEFAULT '',
    docs         TEXT NOT NULL DEFAULT '',
    author_id    TEXT REFERENCES users (id),
    parent_id    TEXT REFERENCES graph_templates (id),
    is_public    INTEGER NOT NULL DEFAULT 0,
    usage_count  INTEGER NOT NULL DEFAULT 0,
    subgraph     TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    UNIQUE (name, version)
);

CREATE TABLE assets (
    id             TEXT PRIMARY KEY,
    project_id     TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    kind           TEXT NOT NULL,
    name           TEXT NOT NULL,
    mime           TEXT NOT NULL,
    size           INTEGER NOT NULL CHECK (size >= 0),
    sha256         TEXT NOT NULL,
    object_key     TEXT NOT NULL,
    thumbnail_key  TEXT,
    fields         TEXT NOT NULL DEFAULT '{}',
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX assets_by_project ON assets (project_id, kind);

CREATE TABLE node_executions (
    id                TEXT PRIMARY KEY,
    project_id        TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    node_id           TEXT NOT NULL,
    plugin_type       TEXT NOT NULL,
    plugin_version    TEXT NOT NULL,
    tier              TEXT NOT NULL CHECK (tier IN ('low', 'standard', 'high')),
    priority          INTEGER NOT NULL DEFAULT 0,
    status            TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    request           TEXT NOT NULL,
    cache_key         TEXT NOT NULL,
    requested_by      TEXT,
    progress          REAL NOT NULL DEFAULT 0,
    progress_message  TEXT NOT NULL DEFAULT '',
    error             TEXT,
    worker_id         TEXT,
    lease_expires_at  INTEGER,
    attempts          INTEGER NOT NULL DEFAULT 0,
    cancel_requested  INTEGER NOT NULL DEFAULT 0,
    reused            INTEGER NOT NULL DEFAULT 0,
    usage             TEXT NOT NULL DEFAULT '{}',
    enqueued_at       INTEGER NOT NULL,
    started_at        INTEGER,
    finished_at       INTEGER
);
CREATE INDEX node_executions_queue ON node_executions (tier, priority DESC, enqueued_at, id) WHERE status = 'queued';
CREATE INDEX node_executions_running ON node_executions (lease_expires_at) WHERE status = 'running';
CREATE INDEX node_executions_by_node ON node_executions (project_id, node_id, enqueued_at);

CREATE TABLE takes (
    id            TEXT PRIMARY KEY,
    execution_id  TEXT NOT NULL REFERENCES node_executions (id) ON DELETE CASCADE,
    project_id    TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    node_id       TEXT NOT NULL,
    outputs       TEXT NOT NULL,
    provenance    TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX takes_by_node ON takes (project_id, node_id, created_at);

CREATE TABLE result_cache (
    cache_key   TEXT PRIMARY KEY,
    take_id     TEXT NOT NULL REFERENCES takes (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL
);
