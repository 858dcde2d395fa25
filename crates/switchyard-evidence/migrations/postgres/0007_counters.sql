-- Counters per time window, shared by every node (rate limits across nodes).
CREATE TABLE IF NOT EXISTS counters (
    name      TEXT    NOT NULL,
    window_ms BIGINT  NOT NULL,
    total     BIGINT  NOT NULL,
    PRIMARY KEY (name, window_ms)
);
CREATE INDEX IF NOT EXISTS counters_window ON counters (window_ms);
