-- Virtual API keys: the SHA-256 of each secret (never the secret), its tenant and its policy.
CREATE TABLE IF NOT EXISTS keys (
    id         TEXT    PRIMARY KEY,
    tenant     TEXT    NOT NULL,
    name       TEXT,
    hash       TEXT    NOT NULL UNIQUE,
    prefix     TEXT    NOT NULL,
    created_ms BIGINT  NOT NULL,
    revoked_ms BIGINT,
    policy     TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS keys_tenant ON keys (tenant, created_ms);
