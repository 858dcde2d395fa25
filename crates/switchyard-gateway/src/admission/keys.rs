//! Managing keys: create (the secret is returned once), list (never a secret or a hash) and
//! revoke, each recorded as an evidence event. Shared by the admin API and the `switchyard
//! keys` command, which works on the store directly while the gateway is stopped.

use super::policy::KeyPolicy;
use crate::error::ApiError;
use serde::{Deserialize, Serialize};
use switchyard_evidence::{Draft, EventKind, EventLog, KeyRecord, Store};

/// A key to create, as `POST /admin/keys` takes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    pub tenant: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub policy: KeyPolicy,
}

/// A key as listings show it: no secret, no hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyView {
    pub id: String,
    pub tenant: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The secret's first characters, to tell keys apart.
    pub prefix: String,
    pub created_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_ms: Option<i64>,
    pub policy: KeyPolicy,
}

/// A key just created, with the secret shown this once.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreatedKey {
    #[serde(flatten)]
    pub key: KeyView,
    /// The only time the secret is ever shown: Switchyard keeps its hash alone.
    pub secret: String,
}

impl KeyView {
    /// The view of a stored key; a policy that no longer reads is a corrupt row.
    pub fn of(record: &KeyRecord) -> Result<KeyView, ApiError> {
        let policy = serde_json::from_value(record.policy.clone()).map_err(|e| {
            ApiError::Internal(format!("key {} has an unreadable policy: {e}", record.id))
        })?;
        Ok(KeyView {
            id: record.id.clone(),
            tenant: record.tenant.clone(),
            name: record.name.clone(),
            prefix: record.prefix.clone(),
            created_ms: record.created_ms,
            revoked_ms: record.revoked_ms,
            policy,
        })
    }
}

fn valid_tenant(tenant: &str) -> bool {
    !tenant.is_empty()
        && tenant.len() <= 64
        && tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
}

fn store_error(e: switchyard_evidence::StoreError) -> ApiError {
    ApiError::Internal(format!("the key store failed: {e}"))
}

/// Checks `new`, stores its hash, records the creation (never the secret), and returns the
/// key with its secret.
pub async fn create(
    store: &dyn Store,
    log: &EventLog,
    new: NewKey,
    now_ms: i64,
) -> Result<CreatedKey, ApiError> {
    if !valid_tenant(&new.tenant) {
        return Err(ApiError::BadRequest {
            message: format!(
                "tenant \"{}\" is not a name: use 1-64 letters, digits, '-', '_' and '.'",
                new.tenant
            ),
            param: Some("tenant".into()),
        });
    }
    if new
        .name
        .as_deref()
        .is_some_and(|n| n.is_empty() || n.len() > 128)
    {
        return Err(ApiError::BadRequest {
            message: "name is 1-128 bytes".into(),
            param: Some("name".into()),
        });
    }
    new.policy
        .validate()
        .map_err(|message| ApiError::BadRequest {
            message: format!("policy: {message}"),
            param: Some("policy".into()),
        })?;
    let policy = serde_json::to_value(&new.policy)
        .map_err(|e| ApiError::Internal(format!("cannot encode the policy: {e}")))?;
    let (record, secret) = KeyRecord::mint(&new.tenant, new.name.as_deref(), policy, now_ms)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    store.put_key(&record).await.map_err(store_error)?;
    log.record(Draft::new(
        EventKind::Lifecycle,
        None,
        serde_json::json!({
            "event": "key_created",
            "key_id": record.id,
            "tenant": record.tenant,
            "name": record.name,
            "policy": record.policy,
        }),
    ))
    .await;
    Ok(CreatedKey {
        key: KeyView::of(&record)?,
        secret,
    })
}

/// Every key (of one tenant, or all), revoked ones included, oldest first.
pub async fn list(store: &dyn Store, tenant: Option<&str>) -> Result<Vec<KeyView>, ApiError> {
    store
        .list_keys(tenant)
        .await
        .map_err(store_error)?
        .iter()
        .map(KeyView::of)
        .collect()
}

/// Revokes the active key `id` and records it; 404 when there is no active key of that id.
/// Returns the stored record so the caller can drop what it cached under the hash.
pub async fn revoke(
    store: &dyn Store,
    log: &EventLog,
    id: &str,
    now_ms: i64,
) -> Result<KeyRecord, ApiError> {
    let Some(record) = store.revoke_key(id, now_ms).await.map_err(store_error)? else {
        return Err(ApiError::NotFound(format!(
            "no active key \"{id}\"; `switchyard keys list` shows them"
        )));
    };
    log.record(Draft::new(
        EventKind::Lifecycle,
        None,
        serde_json::json!({"event": "key_revoked", "key_id": record.id, "tenant": record.tenant}),
    ))
    .await;
    Ok(record)
}
