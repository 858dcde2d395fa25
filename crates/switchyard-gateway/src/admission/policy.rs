//! What one API key may do: the models and route classes it may use, its default class, the
//! most sensitive data class it may send, its region and its rates. Pure checks that answer
//! 403 naming what was refused; they never read the clock or the store.

use crate::error::ApiError;
use serde::{Deserialize, Serialize};
use switchyard_policy::{DataClass, DataClasses};

/// A key's limits, stored as JSON with the key. Every field is optional: absent means "no
/// limit of this kind".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyPolicy {
    /// Model ids (`openai/gpt-4o-mini`) and aliases (`fast`) the key may request, exactly as
    /// requested; `provider/*` allows every model of a provider. `None`: all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub models: Option<Vec<String>>,
    /// Route classes the key may use. `None`: all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes: Option<Vec<String>>,
    /// The class a request of this key runs in when it declares none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_class: Option<String>,
    /// The most sensitive data class the key may send (data classes are ordered: public <
    /// internal < pii < financial < secret). `None`: any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_class_ceiling: Option<DataClass>,
    /// The only region the key's requests may run in. `None`: any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Requests per minute (bursts up to this many).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpm: Option<u32>,
    /// Keep (redacted) payloads of this key's requests as artifacts, whatever the class and
    /// config say. `None`: the class's setting, else the config's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_payloads: Option<bool>,
    /// Tokens per minute, input and output together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpm: Option<u32>,
}

fn forbidden(code: &'static str, message: String) -> ApiError {
    ApiError::Forbidden { message, code }
}

impl KeyPolicy {
    /// Checks the policy itself, as the admin API and the CLI receive it; the message says
    /// which field is wrong.
    pub fn validate(&self) -> Result<(), String> {
        let names = |field: &str, list: &Option<Vec<String>>| -> Result<(), String> {
            match list {
                Some(l) if l.is_empty() => Err(format!(
                    "{field} is empty, which would allow nothing; leave it out to allow all"
                )),
                Some(l) if l.iter().any(|n| n.trim().is_empty() || n.trim() != n) => Err(format!(
                    "{field} holds an empty name or one with surrounding spaces"
                )),
                _ => Ok(()),
            }
        };
        names("models", &self.models)?;
        names("classes", &self.classes)?;
        if let (Some(default), Some(classes)) = (&self.default_class, &self.classes)
            && !classes.contains(default)
        {
            return Err(format!(
                "default_class \"{default}\" is not one of the allowed classes: {}",
                classes.join(", ")
            ));
        }
        if self.default_class.as_deref().is_some_and(str::is_empty) {
            return Err("default_class is empty".into());
        }
        if self.region.as_deref().is_some_and(str::is_empty) {
            return Err("region is empty".into());
        }
        if self.rpm == Some(0) || self.tpm == Some(0) {
            return Err("rpm and tpm are at least 1; revoke a key to stop it".into());
        }
        Ok(())
    }

    /// 403 unless the key may request `requested` (a model id or an alias, as the client
    /// wrote it). Call before resolving the name.
    pub fn check_model(&self, requested: &str) -> Result<(), ApiError> {
        let Some(models) = &self.models else {
            return Ok(());
        };
        let allowed = models.iter().any(|m| {
            m == requested
                || m.strip_suffix("/*").is_some_and(|provider| {
                    requested
                        .split_once('/')
                        .is_some_and(|(p, model)| p == provider && !model.is_empty())
                })
        });
        if allowed {
            return Ok(());
        }
        Err(forbidden(
            "model_not_allowed",
            format!(
                "this API key may not use model \"{requested}\"; it may use: {}",
                models.join(", ")
            ),
        ))
    }

    /// 403 unless the key may use the route class `class_name`. Call with the class the request
    /// ends up in (declared, or [`KeyPolicy::default_class`]).
    pub fn check_class(&self, class_name: &str) -> Result<(), ApiError> {
        match &self.classes {
            Some(classes) if !classes.iter().any(|c| c == class_name) => Err(forbidden(
                "route_class_not_allowed",
                format!(
                    "this API key may not use route class \"{class_name}\"; it may use: {}",
                    classes.join(", ")
                ),
            )),
            _ => Ok(()),
        }
    }

    /// 403 when the key is pinned to a region and `region` (the one a request declares, or a
    /// target's) is another. A request that declares none runs in the key's region.
    pub fn check_region(&self, region: Option<&str>) -> Result<(), ApiError> {
        match (&self.region, region) {
            (Some(pinned), Some(asked)) if pinned != asked => Err(forbidden(
                "region_not_allowed",
                format!(
                    "this API key may not use region \"{asked}\"; it is pinned to \"{pinned}\""
                ),
            )),
            _ => Ok(()),
        }
    }

    /// 403 when the request's data classes (after classification, which may only raise them)
    /// go above the key's ceiling; the message names the classes refused.
    pub fn check_data_classes(&self, classes: DataClasses) -> Result<(), ApiError> {
        let Some(ceiling) = self.data_class_ceiling else {
            return Ok(());
        };
        if !classes.exceeds(ceiling) {
            return Ok(());
        }
        let above: Vec<&str> = classes
            .iter()
            .filter(|c| *c > ceiling)
            .map(DataClass::as_str)
            .collect();
        Err(forbidden(
            "data_class_not_allowed",
            format!(
                "this API key may not send data of class {}; its ceiling is \"{ceiling}\"",
                above.join(", ")
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn policy(json: serde_json::Value) -> KeyPolicy {
        serde_json::from_value(json).unwrap()
    }

    fn code(e: ApiError) -> (u16, &'static str, String) {
        match e {
            ApiError::Forbidden { code, ref message } => {
                (e.status().as_u16(), code, message.clone())
            }
            other => panic!("expected 403, got {other:?}"),
        }
    }

    #[test]
    fn an_empty_policy_allows_everything() {
        let p = KeyPolicy::default();
        assert!(p.check_model("openai/gpt-4o").is_ok());
        assert!(p.check_class("reasoning-heavy").is_ok());
        assert!(p.check_region(Some("eu")).is_ok());
        assert!(
            p.check_data_classes(DataClasses::only(DataClass::Secret))
                .is_ok()
        );
        assert!(p.validate().is_ok());
        assert_eq!(serde_json::to_value(&p).unwrap(), serde_json::json!({}));
    }

    #[test]
    fn models_are_matched_exactly_or_by_provider_wildcard() {
        let p = policy(serde_json::json!({"models": ["fast", "anthropic/*"]}));
        assert!(p.check_model("fast").is_ok());
        assert!(p.check_model("anthropic/claude-haiku-4-5").is_ok());
        let (status, code, message) = code(p.check_model("openai/gpt-4o").unwrap_err());
        assert_eq!((status, code), (403, "model_not_allowed"));
        assert!(message.contains("\"openai/gpt-4o\""), "{message}");
        assert!(p.check_model("smart").is_err());
        assert!(p.check_model("anthropic/").is_err());
        assert!(p.check_model("anthropic").is_err());
    }

    #[test]
    fn classes_and_regions_name_what_was_refused() {
        let p = policy(serde_json::json!({
            "classes": ["latency-critical"], "default_class": "latency-critical", "region": "eu"
        }));
        assert!(p.validate().is_ok());
        assert!(p.check_class("latency-critical").is_ok());
        let (_, c, m) = code(p.check_class("reasoning-heavy").unwrap_err());
        assert_eq!(c, "route_class_not_allowed");
        assert!(m.contains("\"reasoning-heavy\""));
        assert!(p.check_region(Some("eu")).is_ok());
        assert!(p.check_region(None).is_ok());
        let (_, c, m) = code(p.check_region(Some("us")).unwrap_err());
        assert_eq!(c, "region_not_allowed");
        assert!(m.contains("\"us\"") && m.contains("\"eu\""));
    }

    #[test]
    fn the_data_class_ceiling_is_inclusive() {
        let p = policy(serde_json::json!({"data_class_ceiling": "pii"}));
        assert_eq!(p.data_class_ceiling, Some(DataClass::Pii));
        assert!(p.check_data_classes(DataClasses::EMPTY).is_ok());
        assert!(
            p.check_data_classes(DataClass::Internal.into())
                .and(p.check_data_classes(DataClass::Pii.into()))
                .is_ok()
        );
        let classes = DataClasses::only(DataClass::Pii)
            .with(DataClass::Financial)
            .with(DataClass::Secret);
        let (_, c, m) = code(p.check_data_classes(classes).unwrap_err());
        assert_eq!(c, "data_class_not_allowed");
        assert!(
            m.contains("financial, secret") && !m.contains("pii,"),
            "{m}"
        );
    }

    #[test]
    fn bad_policies_are_refused_with_the_field() {
        let bad = |json: serde_json::Value| policy(json).validate().unwrap_err();
        assert!(bad(serde_json::json!({"models": []})).contains("models"));
        assert!(bad(serde_json::json!({"classes": [" x"]})).contains("classes"));
        assert!(
            bad(serde_json::json!({"classes": ["a"], "default_class": "b"}))
                .contains("default_class")
        );
        assert!(bad(serde_json::json!({"rpm": 0})).contains("rpm"));
        assert!(bad(serde_json::json!({"region": ""})).contains("region"));
        assert!(serde_json::from_value::<KeyPolicy>(serde_json::json!({"rpmm": 1})).is_err());
        assert!(
            serde_json::from_value::<KeyPolicy>(serde_json::json!({"data_class_ceiling": "top"}))
                .is_err()
        );
    }
}
