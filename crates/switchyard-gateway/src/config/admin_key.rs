//! The admin key: the secret that guards `/admin/*`. It is compared in constant time and never
//! printed, not even in debug output.

use super::checker::Checker;
use toml::Spanned;

/// Shortest admin key accepted: anything shorter is guessable.
const MIN_LEN: usize = 16;

/// The admin key, as configured.
#[derive(Clone)]
pub struct AdminKey(String);

impl AdminKey {
    /// An admin key from its text; `None` when it is shorter than 16 characters.
    pub fn new(text: &str) -> Option<AdminKey> {
        (text.chars().count() >= MIN_LEN).then(|| AdminKey(text.to_owned()))
    }

    /// True when `presented` is this key. Both sides are hashed first and the digests are
    /// compared in constant time, so neither the content nor the length leaks through timing.
    pub fn matches(&self, presented: &str) -> bool {
        blake3::hash(self.0.as_bytes()) == blake3::hash(presented.as_bytes())
    }
}

impl std::fmt::Debug for AdminKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminKey(<redacted>)")
    }
}

/// The admin key from config `admin_key` (with `${ENV}` expanded), else from the environment
/// variable `SWITCHYARD_ADMIN_KEY`; an empty value means none.
pub(super) fn admin_key(c: &mut Checker<'_>, raw: Option<&Spanned<String>>) -> Option<AdminKey> {
    let (text, span) = match raw {
        Some(v) => (c.expand(v, "admin_key")?, v.span()),
        None => ((c.env)("SWITCHYARD_ADMIN_KEY")?, 0..0),
    };
    if text.is_empty() {
        return None;
    }
    let key = AdminKey::new(&text);
    if key.is_none() {
        c.error(
            span,
            "admin_key",
            format!("the admin key must be at least {MIN_LEN} characters long"),
        );
    }
    key
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::AdminKey;

    #[test]
    fn matches_only_itself_and_never_prints() {
        let key = AdminKey::new("0123456789abcdef-admin").unwrap();
        assert!(key.matches("0123456789abcdef-admin"));
        assert!(!key.matches("0123456789abcdef-admiN"));
        assert!(!key.matches(""));
        assert!(AdminKey::new("short").is_none());
        assert!(!format!("{key:?}").contains("admin"));
    }

    #[test]
    fn read_from_config_or_environment() {
        let env =
            |k: &str| (k == "SWITCHYARD_ADMIN_KEY").then(|| "from-the-env-0123456".to_owned());
        let none = |_: &str| None;
        let parse = |text: &str, env: &dyn Fn(&str) -> Option<String>| {
            crate::config::parse("t.toml", text, env)
        };
        let c = parse("admin_key = \"${SWITCHYARD_ADMIN_KEY}\"\n", &env).unwrap();
        assert!(c.admin_key.unwrap().matches("from-the-env-0123456"));
        // Not in the config: the environment variable alone is enough.
        assert!(
            parse("", &env)
                .unwrap()
                .admin_key
                .unwrap()
                .matches("from-the-env-0123456")
        );
        assert!(parse("", &none).unwrap().admin_key.is_none());
        assert!(
            parse("admin_key = \"${SWITCHYARD_ADMIN_KEY:-}\"\n", &none)
                .unwrap()
                .admin_key
                .is_none()
        );
        let unset = parse("\nadmin_key = \"${SWITCHYARD_ADMIN_KEY}\"\n", &none).unwrap_err();
        assert_eq!((unset.0[0].line, unset.0[0].key.as_str()), (2, "admin_key"));
        let short = parse("admin_key = \"tiny\"\n", &none).unwrap_err();
        assert!(short.to_string().contains("at least 16"), "{short}");
        assert!(!short.to_string().contains("tiny"));
    }
}
