//! The AWS credential chain for a `bedrock` provider whose config names no keys, in the order
//! the AWS SDKs follow it: the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_SESSION_TOKEN`), then profile `AWS_PROFILE` (`default` when unset) in the shared
//! credentials file (`AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`) and in the config
//! file (`AWS_CONFIG_FILE`, else `~/.aws/config`, where it is `[profile NAME]`). Static keys
//! only: SSO, `role_arn`, `credential_process` and instance metadata are not followed. Never
//! puts a key, a secret or a line of those files in an error: only variable names, paths and
//! the profile's name.

use std::collections::BTreeMap;
use std::path::PathBuf;
use switchyard_providers::Credentials;

type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The sections of an INI file by name, each with its keys (lowercased) and values.
type Sections = BTreeMap<String, BTreeMap<String, String>>;

/// The two shared files, in the order they are read.
#[derive(Clone, Copy)]
enum Shared {
    Credentials,
    Config,
}

impl Shared {
    /// The file's path: its variable (a leading `~/` is the home directory), else its place
    /// under `~/.aws`; `None` when neither is known.
    fn path(self, env: Env<'_>) -> Option<PathBuf> {
        let (variable, name) = match self {
            Shared::Credentials => ("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
            Shared::Config => ("AWS_CONFIG_FILE", "config"),
        };
        let home = || {
            env("HOME")
                .or_else(|| env("USERPROFILE"))
                .map(PathBuf::from)
        };
        match env(variable).filter(|v| !v.trim().is_empty()) {
            Some(path) => match path.strip_prefix("~/") {
                Some(rest) => home().map(|h| h.join(rest)),
                None => Some(PathBuf::from(path)),
            },
            None => home().map(|h| h.join(".aws").join(name)),
        }
    }

    /// The profile's section: `[NAME]` in the credentials file; `[profile NAME]` in the config
    /// file, where the default profile may also be plain `[default]`.
    fn section<'s>(
        self,
        sections: &'s Sections,
        profile: &str,
    ) -> Option<&'s BTreeMap<String, String>> {
        match self {
            Shared::Credentials => sections.get(profile),
            Shared::Config => sections
                .iter()
                .find(|(name, _)| {
                    name.strip_prefix("profile")
                        .filter(|rest| rest.starts_with([' ', '\t']))
                        .is_some_and(|rest| rest.trim() == profile)
                })
                .map(|(_, keys)| keys)
                .or_else(|| {
                    (profile == "default")
                        .then(|| sections.get("default"))
                        .flatten()
                }),
        }
    }
}

/// The first keys the chain finds; otherwise, for the caller's error, each place it looked
/// and why that place did not serve.
pub(super) fn from_chain(env: Env<'_>) -> Result<Credentials, String> {
    let get = |k: &str| env(k).filter(|v| !v.trim().is_empty());
    let (id, secret) = (get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY"));
    let in_env = match (id, secret) {
        (Some(access_key_id), Some(secret_access_key)) => {
            return Ok(Credentials::Aws {
                access_key_id,
                secret_access_key,
                session_token: get("AWS_SESSION_TOKEN"),
            });
        }
        (Some(_), None) => "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not",
        (None, Some(_)) => "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not",
        (None, None) => "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set",
    };
    let profile = get("AWS_PROFILE").unwrap_or_else(|| "default".to_owned());
    let mut looked = Vec::new();
    for file in [Shared::Credentials, Shared::Config] {
        let Some(path) = file.path(env) else {
            looked.push(match file {
                Shared::Credentials => "no credentials file (HOME is not set)".to_owned(),
                Shared::Config => "no config file (HOME is not set)".to_owned(),
            });
            continue;
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                looked.push(format!("{} does not exist", path.display()));
                continue;
            }
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        let sections = ini(&text);
        let Some(keys) = file.section(&sections, &profile) else {
            looked.push(format!("{} has no profile {profile:?}", path.display()));
            continue;
        };
        let key = |name: &str| keys.get(name).filter(|v| !v.is_empty()).cloned();
        match (key("aws_access_key_id"), key("aws_secret_access_key")) {
            (Some(access_key_id), Some(secret_access_key)) => {
                return Ok(Credentials::Aws {
                    access_key_id,
                    secret_access_key,
                    session_token: key("aws_session_token"),
                });
            }
            _ => {
                // A profile that gets its keys another way is named as such.
                let other = keys.keys().find(|k| {
                    k.starts_with("sso_")
                        || ["role_arn", "credential_process", "web_identity_token_file"]
                            .contains(&k.as_str())
                });
                looked.push(format!(
                    "profile {profile:?} in {} has no aws_access_key_id and aws_secret_access_key{}",
                    path.display(),
                    other
                        .map(|k| format!(" (its {k} is not followed: static keys only)"))
                        .unwrap_or_default()
                ));
            }
        }
    }
    Err(format!("{in_env}; {}", looked.join("; ")))
}

/// Reads an AWS INI file as the SDKs do: `[section]` headers, then `key = value` (or
/// `key: value`) lines, keys lowercased, a later value replacing an earlier one. Lines starting
/// with `#` or `;` are comments (a `#` later in a line is part of the value); an indented line
/// after a key continues that key (nested settings such as `s3 =`) and is skipped; lines
/// before the first section are ignored.
fn ini(text: &str) -> Sections {
    let mut sections = Sections::new();
    let mut current: Option<String> = None;
    let mut after_key = false;
    for line in text.trim_start_matches('\u{feff}').lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with(['#', ';']) {
            continue;
        }
        if after_key && line.starts_with([' ', '\t']) {
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            let name = name.trim().to_owned();
            sections.entry(name.clone()).or_default();
            current = Some(name);
            after_key = false;
            continue;
        }
        let (Some(section), Some(at)) = (&current, trimmed.find(['=', ':'])) else {
            continue;
        };
        let (key, value) = (trimmed[..at].trim(), trimmed[at + 1..].trim());
        sections
            .entry(section.clone())
            .or_default()
            .insert(key.to_ascii_lowercase(), value.to_owned());
        after_key = true;
    }
    sections
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// A directory of its own for one test's files.
    fn dir() -> PathBuf {
        let dir = std::env::temp_dir().join(crate::ids::new_id("aws"));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn keys(c: Credentials) -> (String, String, Option<String>) {
        match c {
            Credentials::Aws {
                access_key_id,
                secret_access_key,
                session_token,
            } => (access_key_id, secret_access_key, session_token),
            other => panic!("not AWS keys: {other:?}"),
        }
    }

    /// An environment of `vars`, nothing else.
    fn env_of(vars: Vec<(&'static str, String)>) -> impl Fn(&str) -> Option<String> {
        move |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
    }

    const CREDENTIALS: &str = "# written by aws configure\r\n[default]\r\naws_access_key_id = AKIADEFAULT\r\naws_secret_access_key = s3cr3t/default+key\r\n\r\n[work]\nAWS_Access_Key_Id=AKIAWORK\naws_secret_access_key=work#secret\naws_session_token = token-work\n";

    const CONFIG: &str = "[default]\nregion = us-east-1\n\n[profile ops]\nregion = eu-west-1\ns3 =\n  aws_access_key_id = NESTED\naws_access_key_id = AKIAOPS\naws_secret_access_key = ops-secret\n; a comment\n[profile sso]\nsso_start_url = https://example.awsapps.com/start\n";

    #[test]
    fn the_environment_comes_first() {
        let d = dir();
        std::fs::write(d.join("credentials"), CREDENTIALS).unwrap();
        let env = env_of(vec![
            ("AWS_ACCESS_KEY_ID", "AKIAENV".into()),
            ("AWS_SECRET_ACCESS_KEY", "env-secret".into()),
            ("AWS_SESSION_TOKEN", "env-token".into()),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                d.join("credentials").display().to_string(),
            ),
        ]);
        assert_eq!(
            keys(from_chain(&env).unwrap()),
            (
                "AKIAENV".into(),
                "env-secret".into(),
                Some("env-token".into())
            )
        );
    }

    #[test]
    fn the_credentials_file_gives_the_default_profile_or_aws_profile() {
        let d = dir();
        std::fs::create_dir_all(d.join(".aws")).unwrap();
        std::fs::write(d.join(".aws/credentials"), CREDENTIALS).unwrap();
        let home = d.display().to_string();
        let env = env_of(vec![("HOME", home.clone())]);
        assert_eq!(
            keys(from_chain(&env).unwrap()),
            ("AKIADEFAULT".into(), "s3cr3t/default+key".into(), None)
        );
        let env = env_of(vec![("HOME", home), ("AWS_PROFILE", "work".into())]);
        assert_eq!(
            keys(from_chain(&env).unwrap()),
            (
                "AKIAWORK".into(),
                "work#secret".into(),
                Some("token-work".into())
            )
        );
    }

    #[test]
    fn the_config_file_names_profiles_with_a_prefix_and_is_read_second() {
        let d = dir();
        std::fs::write(d.join("credentials"), CREDENTIALS).unwrap();
        std::fs::write(d.join("config"), CONFIG).unwrap();
        let env = env_of(vec![
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                d.join("credentials").display().to_string(),
            ),
            ("AWS_CONFIG_FILE", d.join("config").display().to_string()),
            ("AWS_PROFILE", "ops".into()),
        ]);
        assert_eq!(
            keys(from_chain(&env).unwrap()),
            ("AKIAOPS".into(), "ops-secret".into(), None)
        );
    }

    #[test]
    fn a_path_may_start_at_home() {
        let d = dir();
        std::fs::write(d.join("creds.ini"), CREDENTIALS).unwrap();
        let env = env_of(vec![
            ("HOME", d.display().to_string()),
            ("AWS_SHARED_CREDENTIALS_FILE", "~/creds.ini".into()),
        ]);
        assert_eq!(keys(from_chain(&env).unwrap()).0, "AKIADEFAULT");
    }

    #[test]
    fn finding_nothing_says_where_it_looked_and_shows_no_secret() {
        let d = dir();
        std::fs::write(d.join("config"), CONFIG).unwrap();
        let env = env_of(vec![
            ("AWS_SECRET_ACCESS_KEY", "half-set-secret".into()),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                d.join("missing").display().to_string(),
            ),
            ("AWS_CONFIG_FILE", d.join("config").display().to_string()),
            ("AWS_PROFILE", "sso".into()),
        ]);
        let message = from_chain(&env).unwrap_err();
        for needle in [
            "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not",
            &format!("{} does not exist", d.join("missing").display()),
            &format!(
                "profile \"sso\" in {} has no aws_access_key_id and aws_secret_access_key (its sso_start_url is not followed",
                d.join("config").display()
            ),
        ] {
            assert!(message.contains(needle), "{needle:?} not in {message}");
        }
        assert!(!message.contains("half-set-secret"), "{message}");

        std::fs::create_dir_all(d.join(".aws")).unwrap();
        std::fs::write(d.join(".aws/credentials"), CREDENTIALS).unwrap();
        let env = env_of(vec![
            ("AWS_PROFILE", "nobody".into()),
            ("HOME", d.display().to_string()),
        ]);
        let message = from_chain(&env).unwrap_err();
        let credentials = d.join(".aws/credentials");
        assert!(
            message.contains(&format!(
                "{} has no profile \"nobody\"",
                credentials.display()
            )),
            "{message}"
        );
        assert!(!message.contains("s3cr3t"), "{message}");
        assert!(
            from_chain(&|_| None)
                .unwrap_err()
                .contains("HOME is not set")
        );
    }

    #[test]
    fn an_unreadable_file_is_an_error_naming_it() {
        let d = dir();
        let env = env_of(vec![(
            "AWS_SHARED_CREDENTIALS_FILE",
            d.display().to_string(),
        )]);
        let message = from_chain(&env).unwrap_err();
        assert!(
            message.starts_with(&format!("cannot read {}", d.display())),
            "{message}"
        );
    }

    #[test]
    fn ini_reads_sections_keys_comments_and_continuations() {
        let sections = ini(CONFIG);
        assert_eq!(sections["profile ops"]["aws_access_key_id"], "AKIAOPS");
        assert_eq!(sections["profile ops"]["s3"], "");
        assert_eq!(sections["default"]["region"], "us-east-1");
        assert!(!sections.values().any(|s| s.values().any(|v| v == "NESTED")));
        let credentials = ini(CREDENTIALS);
        assert_eq!(credentials["work"]["aws_access_key_id"], "AKIAWORK");
        assert_eq!(
            credentials["default"]["aws_secret_access_key"],
            "s3cr3t/default+key"
        );
        assert!(ini("key = before any section\n").is_empty());
    }
}
