-- Idempotency records: a key per tenant, the fingerprint of the request that claimed it, its
-- holder and lease while in flight, and the answer once done (the gateway's bytes, sealed
-- where they must be; never a secret).
CREATE TABLE IF NOT EXISTS idempotency (
    tenant          TEXT    NOT NULL,
    idempotency_key TEXT    NOT NULL,
    fingerprint     TEXT    NOT NULL,
    holder          TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    created_ms      INTEGER NOT NULL,
    lease_until_ms  INTEGER NOT NULL,
    expires_ms      INTEGER NOT NULL,
    completed_ms    INTEGER,
    key_id          TEXT,
    body            BLOB,
    PRIMARY KEY (tenant, idempotency_key)
);
CREATE INDEX IF NOT EXISTS idempotency_expiry ON idempotency (expires_ms);
