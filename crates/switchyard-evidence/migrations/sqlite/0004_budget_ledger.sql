-- The shared budget ledger: micro-USD leased by gateway nodes, per budget scope and time bucket.
CREATE TABLE IF NOT EXISTS budget_ledger (
    scope     TEXT   NOT NULL,
    bucket_ms BIGINT NOT NULL,
    granted   BIGINT NOT NULL,
    PRIMARY KEY (scope, bucket_ms)
);
