-- The append-only, hash-chained event log. One chain per stream (a gateway node).
CREATE TABLE IF NOT EXISTS events (
    stream     TEXT    NOT NULL,
    seq        INTEGER NOT NULL,
    ts_ms      INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    request_id TEXT,
    payload    TEXT    NOT NULL,
    prev_hash  TEXT    NOT NULL,
    hash       TEXT    NOT NULL,
    PRIMARY KEY (stream, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS events_request ON events (request_id);
CREATE INDEX IF NOT EXISTS events_kind_ts ON events (kind, ts_ms);
