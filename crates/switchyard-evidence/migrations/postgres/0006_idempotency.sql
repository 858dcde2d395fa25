-- Idempotency records: a key per tenant, the fingerprint of the request that claimed it, its
-- holder and lease while in flight, and the answer once done (the gateway's bytes, sealed
-- where they must be; never a secret).
CREATE TABLE IF NOT EXISTS idempotency (
    tenant          TEXT    NOT NULL,
    idempotency_key TEXT    NOT NULL,
    fingerprint     TEXT    NOT NULL,
    holder          TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    created_ms      BIGINT  NOT NULL,
    lease_until_ms  BIGINT  NOT NULL,
    expires_ms      BIGINT  NOT NULL,
    completed_ms    BIGINT,
    key_id          TEXT,
    body            BYTEA,
    PRIMARY KEY (tenant, idempotency_key)
);
CREATE INDEX IF NOT EXISTS idempotency_expiry ON idempotency (expires_ms);
