-- Session records: sessions and what they hold (stored responses, conversation items), grouped
-- by session, scoped by tenant, versioned for compare-and-swap. Bodies are the gateway's, sealed
-- where the client asked to store content; kind and state are short words, never content.
CREATE TABLE IF NOT EXISTS sessions (
    tenant     TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    session    TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    state      TEXT    NOT NULL,
    version    BIGINT  NOT NULL,
    created_ms BIGINT  NOT NULL,
    updated_ms BIGINT  NOT NULL,
    expires_ms BIGINT  NOT NULL,
    key_id     TEXT,
    body       BYTEA   NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX IF NOT EXISTS sessions_session ON sessions (tenant, session, created_ms, id);
CREATE INDEX IF NOT EXISTS sessions_tenant ON sessions (tenant, created_ms, id);
CREATE INDEX IF NOT EXISTS sessions_expiry ON sessions (expires_ms);

-- Session locks: one holder per session until its lease ends (a row, not a connection's lock,
-- so a holder that dies lets go when its lease does).
CREATE TABLE IF NOT EXISTS session_locks (
    tenant     TEXT    NOT NULL,
    session    TEXT    NOT NULL,
    holder     TEXT    NOT NULL,
    until_ms   BIGINT  NOT NULL,
    PRIMARY KEY (tenant, session)
);
CREATE INDEX IF NOT EXISTS session_locks_until ON session_locks (until_ms);
