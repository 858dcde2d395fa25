-- Prompts, completions and tool results, redacted (and sealed where required), with retention.
CREATE TABLE IF NOT EXISTS artifacts (
    id         TEXT    PRIMARY KEY,
    request_id TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    created_ms BIGINT  NOT NULL,
    expires_ms BIGINT  NOT NULL,
    key_id     TEXT,
    body       BYTEA   NOT NULL
);
CREATE INDEX IF NOT EXISTS artifacts_expiry ON artifacts (expires_ms);
CREATE INDEX IF NOT EXISTS artifacts_request ON artifacts (request_id);
