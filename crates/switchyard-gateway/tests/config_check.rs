//! `switchyard check` and config validation: every error with file, line and key; the config
//! examples in docs/configuration.md and docs/evidence.md are valid configs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;
use switchyard_gateway::config;

fn check(text: &str) -> (bool, String, String) {
    let dir = std::env::temp_dir().join(format!("switchyard-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!(
        "{:x}.toml",
        text.len() * 7919 + text.bytes().map(u64::from).sum::<u64>() as usize
    ));
    std::fs::write(&path, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .arg("check")
        .arg(&path)
        .env_remove("OPENAI_API_KEY")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_reports_every_error_with_line_and_key() {
    let text = r#"listen = "not an address"

[providers.openai]
family = "opena"

[providers.local]
family = "openai"
base_url = "ftp://x"

[models."ghost/model"]
input_usd_per_mtok = 1.0

[models."local/m"]
input_usd_per_mtok = -1.0

[aliases]
fast = ["nobody/x", "local/m"]
"#;
    let (ok, _, stderr) = check(text);
    assert!(!ok);
    for expected in [
        ":1: listen:",
        ":4: providers.openai.family: unknown family \"opena\"",
        ":8: providers.local.base_url:",
        ":10: models.\"ghost/model\": provider \"ghost\" is not configured",
        ":14: models.\"local/m\".input_usd_per_mtok:",
        ":17: aliases.fast: target \"nobody/x\"",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
}

#[test]
fn unknown_keys_and_bad_toml_name_their_line() {
    let (ok, _, stderr) = check("[providers.a]\nfamily = \"openai\"\napi_kee = \"x\"\n");
    assert!(!ok);
    assert!(
        stderr.contains(":3:") && stderr.contains("api_kee"),
        "{stderr}"
    );
    let (ok, _, stderr) = check("[providers\n");
    assert!(!ok);
    assert!(stderr.contains(":1:"), "{stderr}");
}

#[test]
fn a_provider_default_price_must_be_a_price() {
    let (ok, _, stderr) = check(
        "[providers.a]\nfamily = \"openai\"\napi_key = \"x\"\ndefault_output_usd_per_mtok = -1.0\n",
    );
    assert!(!ok);
    assert!(
        stderr.contains(":4:")
            && stderr.contains("providers.a.default_output_usd_per_mtok")
            && stderr.contains("prices are finite and not negative"),
        "{stderr}"
    );
}

#[test]
fn missing_env_secret_is_an_error() {
    let (ok, _, stderr) =
        check("[providers.a]\nfamily = \"openai\"\napi_key = \"${SWITCHYARD_TEST_UNSET_VAR}\"\n");
    assert!(!ok);
    assert!(
        stderr.contains("SWITCHYARD_TEST_UNSET_VAR is not set"),
        "{stderr}"
    );
}

#[test]
fn a_valid_file_passes() {
    let (ok, stdout, stderr) =
        check("[providers.m]\nfamily = \"mock\"\n[aliases]\nfast = [\"m/fast\"]\n");
    assert!(ok, "{stderr}");
    assert!(stdout.contains("is valid"), "{stdout}");
}

#[test]
fn the_documented_config_example_is_valid() {
    let page = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/configuration.md"
    ))
    .unwrap();
    let start = page
        .find("```toml\nlisten")
        .expect("docs/configuration.md has the config example");
    let body = &page[start + "```toml\n".len()..];
    let example = &body[..body.find("```").unwrap()];
    // Every variable the example names is set (the OpenTelemetry ones and the artifact key are
    // not: those must be URLs and 64 hex digits, and the example names neither).
    let env = |k: &str| {
        (!k.starts_with("OTEL_") && k != "SWITCHYARD_ARTIFACT_KEY").then(|| format!("value-of-{k}"))
    };
    let config =
        config::parse("docs/configuration.md", example, &env).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.aliases["fast"].len(), 2);
    assert_eq!(
        config.models["azure/gpt-4o"].upstream,
        "my-gpt4o-deployment"
    );
}

#[test]
fn the_embedded_defaults_are_valid() {
    let config = config::embedded(&|_| None).unwrap();
    assert!(config.providers.contains_key("mock"));
    assert!(config.models.contains_key("mock/embed"));
    let with_key = config::embedded(&|k| (k == "OPENAI_API_KEY").then(|| "sk-x".into())).unwrap();
    assert!(with_key.providers.contains_key("openai"));
    assert!(
        with_key.models.contains_key("openai/gpt-4o-mini"),
        "shipped prices apply"
    );
}

#[test]
fn retention_of_zero_or_negative_days_is_refused() {
    for bad in ["0", "-3"] {
        let (ok, _, stderr) = check(&format!(
            "[retention]\nprompt_days = {bad}\n[providers.m]\nfamily = \"mock\"\n"
        ));
        assert!(!ok);
        assert!(
            stderr.contains(":2: retention.prompt_days: must be a whole number of days"),
            "{stderr}"
        );
    }
}

#[test]
fn a_malformed_artifact_key_is_refused_and_a_missing_one_is_not() {
    let text = "[payloads]\nenabled = true\nencrypt = true\nkey_env = \"SY_TEST_KEY\"\n[providers.m]\nfamily = \"mock\"\n";
    let env = |k: &str| (k == "SY_TEST_KEY").then(|| "not-hex".to_owned());
    let errors = config::parse("t.toml", text, &env).unwrap_err().to_string();
    assert!(
        errors.contains("payloads.key_env") && errors.contains("64 hex digits"),
        "{errors}"
    );
    let missing = config::parse("t.toml", text, &|_| None).unwrap();
    assert!(missing.payloads.keyring.is_none());
    assert!(
        missing
            .payloads
            .keyring_problem
            .unwrap()
            .contains("SY_TEST_KEY is not set")
    );
}

#[test]
fn the_documented_evidence_example_is_valid() {
    let page = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/evidence.md"
    ))
    .unwrap();
    let start = page
        .find("```toml\n[payloads]")
        .expect("docs/evidence.md has the evidence example");
    let body = &page[start + "```toml\n".len()..];
    let example = &body[..body.find("```").unwrap()];
    let env = |k: &str| {
        k.starts_with("SWITCHYARD_ARTIFACT_KEY")
            .then(|| "ab".repeat(32))
    };
    let config = config::parse("docs/evidence.md", example, &env).unwrap_or_else(|e| panic!("{e}"));
    assert!(config.payloads.enabled && config.payloads.keyring.is_some());
    assert_eq!(config.retention.tool_result.as_secs(), 7 * 86_400);
    assert!(
        config
            .detectors
            .iter()
            .any(|(name, _)| name == "employee_id"),
        "custom detector compiled"
    );
}

#[test]
fn contradictory_profiles_are_rejected_with_the_path_of_the_bad_key() {
    let text = r#"[providers.us]
family = "openai"
base_url = "http://127.0.0.1:9/v1"
region = "us"

[models."us/a"]

[[profiles]]
name = "bad"
version = 1
default_class = "warp"

[profiles.classes.eu-strict]
inherits = "compliance-constrained"
region = "eu"

[[profiles.allow]]
provider = "us"
region = "us"
classes = ["public"]

[profiles.aliases.loop1.default]
nodes = [{ alias = "loop2" }]

[profiles.aliases.loop2.default]
nodes = [{ alias = "loop1" }]

[profiles.aliases.regulated.eu-strict]
nodes = [{ try = "us/a" }]

[profiles.aliases.ghost.default]
nodes = [{ try = "us/nope" }]
"#;
    let (ok, _, err) = check(text);
    assert!(!ok);
    for needle in [
        "profiles[0].default_class: unknown route class \"warp\"",
        "profiles[0].classes.eu-strict.region: no allowlisted provider in region \"eu\"",
        "profiles[0].aliases.loop2.default.nodes[0].alias: fallback cycle loop1 -> loop2 -> loop1",
        "profiles[0].aliases.regulated.eu-strict: class eu-strict needs an allowlisted provider",
        "profiles[0].aliases.ghost.default.nodes[0].try: unknown model \"us/nope\"",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
    // Every line names the file and the profile's line.
    assert!(
        err.lines()
            .filter(|l| l.contains("profiles[0]"))
            .all(|l| l.contains(".toml:8:")),
        "{err}"
    );
}

/// Parses `text` over the embedded completion with only `env` set.
fn load(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<config::Config, String> {
    let mut c = config::parse("t.toml", text, env).map_err(|e| e.to_string())?;
    config::complete(&mut c, env).map_err(|e| e.to_string())?;
    Ok(c)
}

fn no_env(_: &str) -> Option<String> {
    None
}

#[test]
fn azure_providers_resolve_only_configured_deployments_unless_passthrough_is_on() {
    let text = |az: &str, op: &str| {
        format!(
            r#"[providers.az]
family = "openai"
base_url = "https://res.openai.azure.com"
quirks = {{ azure_api_version = "2024-10-21" }}
{az}
[providers.op]
family = "openai"
base_url = "http://127.0.0.1:9/v1"
{op}
[models."az/gpt-4o"]
upstream_model = "my-deployment"

[aliases]
chat = ["az/other-deployment"]
"#
        )
    };
    let resolves = |c: &config::Config, model: &str| {
        c.routing
            .active_snapshot()
            .unwrap()
            .models()
            .facts(model)
            .is_some()
    };
    let c = load(&text("", ""), &no_env).unwrap();
    assert!(!c.providers["az"].passthrough && c.providers["op"].passthrough);
    assert!(resolves(&c, "az/gpt-4o") && resolves(&c, "az/other-deployment"));
    assert!(
        !resolves(&c, "az/unconfigured"),
        "an Azure deployment nobody configured"
    );
    assert!(
        resolves(&c, "op/anything"),
        "other providers keep passthrough"
    );

    let c = load(&text("passthrough = true", "passthrough = false"), &no_env).unwrap();
    assert!(resolves(&c, "az/unconfigured"));
    assert!(!resolves(&c, "op/anything"));
}

#[test]
fn shipped_prices_do_not_make_models_of_a_provider_without_passthrough_routable() {
    // An Azure resource configured under the name "openai" gets no shipped openai/* models.
    let text = "[providers.openai]\nfamily = \"openai\"\nbase_url = \"https://res.openai.azure.com\"\nquirks = { azure_api_version = \"2024-10-21\" }\n[aliases]\nmini = [\"openai/gpt-4o-mini\"]\n";
    let c = load(text, &no_env).unwrap();
    assert!(!c.models.contains_key("openai/gpt-4o"));
    assert!(
        c.models["openai/gpt-4o-mini"].price.output > 0.0,
        "an alias target keeps its shipped price"
    );
}

#[test]
fn configured_model_ids_base_urls_and_regions_are_checked_at_load() {
    let text = r#"[providers.az]
family = "openai"
base_url = "https://res.openai.azure.com"
quirks = { azure_api_version = "2024-10-21" }

[providers.g]
family = "gemini"
api_key = "k"

[providers.b]
family = "bedrock"
region = "US East 1"
api_key = "k"

[providers.q]
family = "openai"
base_url = "https://api.example.com/v1?key=secret-in-url"

[providers.nohost]
family = "openai"
base_url = "http://"

[models."az/gpt-4o"]
upstream_model = "../../admin/secret?x="

[models."g/tunedModels/x/../y"]

[aliases]
chat = ["az/other/deployment", "g/gemini-2.5-flash"]
"#;
    let (ok, _, stderr) = check(text);
    assert!(!ok);
    for expected in [
        ":12: providers.b.region: \"US East 1\" is not an AWS region name",
        ":17: providers.q.base_url: must not have a query",
        ":21: providers.nohost.base_url:",
        ":23: models.\"az/gpt-4o\".upstream_model: model \"../../admin/secret?x=\" is not an Azure OpenAI deployment name",
        ":26: models.\"g/tunedModels/x/../y\": model \"tunedModels/x/../y\" is not a Gemini model id",
        ":29: aliases.chat: model \"other/deployment\" is not an Azure OpenAI deployment name",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
    assert!(!stderr.contains("secret-in-url"), "{stderr}");
    assert!(
        !stderr.contains("gemini-2.5-flash"),
        "a good target is no error: {stderr}"
    );
}

/// A directory of its own for one test's files.
fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(switchyard_gateway::ids::new_id(tag));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn aws_keys(c: &config::Config, provider: &str) -> (String, String, Option<String>) {
    match &c.providers[provider].endpoint.credentials {
        switchyard_providers::Credentials::Aws {
            access_key_id,
            secret_access_key,
            session_token,
        } => (
            access_key_id.clone(),
            secret_access_key.clone(),
            session_token.clone(),
        ),
        other => panic!("not AWS keys: {other:?}"),
    }
}

const BEDROCK: &str = "[providers.b]\nfamily = \"bedrock\"\nregion = \"eu-west-1\"\n";

#[test]
fn a_bedrock_provider_without_keys_follows_the_aws_credential_chain() {
    // The environment, as the embedded default reads it.
    let env = |k: &str| match k {
        "AWS_ACCESS_KEY_ID" => Some("AKIAENV".to_owned()),
        "AWS_SECRET_ACCESS_KEY" => Some("env-secret".to_owned()),
        "AWS_SESSION_TOKEN" => Some("env-token".to_owned()),
        _ => None,
    };
    let c = load(BEDROCK, &env).unwrap();
    assert_eq!(
        aws_keys(&c, "b"),
        (
            "AKIAENV".into(),
            "env-secret".into(),
            Some("env-token".into())
        )
    );
    assert_eq!(
        c.providers["b"].endpoint.region.as_deref(),
        Some("eu-west-1")
    );

    // Then the shared credentials file, for AWS_PROFILE.
    let dir = temp_dir("aws");
    let file = dir.join("credentials");
    std::fs::write(
        &file,
        "[default]\naws_access_key_id = AKIADEF\naws_secret_access_key = def-secret\n[ci]\naws_access_key_id = AKIACI\naws_secret_access_key = ci-secret\n",
    )
    .unwrap();
    let path = file.display().to_string();
    let env = |k: &str| match k {
        "AWS_SHARED_CREDENTIALS_FILE" => Some(path.clone()),
        "AWS_PROFILE" => Some("ci".to_owned()),
        _ => None,
    };
    let c = load(BEDROCK, &env).unwrap();
    assert_eq!(
        aws_keys(&c, "b"),
        ("AKIACI".into(), "ci-secret".into(), None)
    );

    // Then the config file's [profile NAME].
    std::fs::write(
        dir.join("config"),
        "[profile ops]\nregion = eu-west-1\naws_access_key_id = AKIAOPS\naws_secret_access_key = ops-secret\n",
    )
    .unwrap();
    let home = dir.display().to_string();
    let config_file = dir.join("config").display().to_string();
    let env = |k: &str| match k {
        "HOME" => Some(home.clone()),
        "AWS_CONFIG_FILE" => Some(config_file.clone()),
        "AWS_PROFILE" => Some("ops".to_owned()),
        _ => None,
    };
    let c = load(BEDROCK, &env).unwrap();
    assert_eq!(aws_keys(&c, "b").0, "AKIAOPS");

    // Keys in the file still win.
    let text = format!(
        "{BEDROCK}aws_access_key_id = \"AKIAFILE\"\naws_secret_access_key = \"file-secret\"\n"
    );
    assert_eq!(aws_keys(&load(&text, &env).unwrap(), "b").0, "AKIAFILE");
}

#[test]
fn a_bedrock_provider_with_no_credentials_anywhere_says_where_it_looked() {
    let dir = temp_dir("aws");
    let home = dir.display().to_string();
    let env = |k: &str| match k {
        "HOME" => Some(home.clone()),
        "AWS_PROFILE" => Some("prod".to_owned()),
        "AWS_SECRET_ACCESS_KEY" => Some("lonely-secret".to_owned()),
        _ => None,
    };
    let errors = load(BEDROCK, &env).unwrap_err();
    for needle in [
        "t.toml:2: providers.b: bedrock found no AWS credentials",
        "aws_access_key_id and aws_secret_access_key, or a Bedrock API key in api_key",
        "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not",
        &format!("{}", dir.join(".aws").join("credentials").display()),
        &format!("{}", dir.join(".aws").join("config").display()),
    ] {
        assert!(errors.contains(needle), "missing {needle:?} in:\n{errors}");
    }
    assert!(!errors.contains("lonely-secret"), "{errors}");

    let half = format!("{BEDROCK}aws_access_key_id = \"AKIAFILE\"\n");
    let errors = load(&half, &env).unwrap_err();
    assert!(
        errors.contains("providers.b: give both aws_access_key_id and aws_secret_access_key"),
        "{errors}"
    );
}

#[test]
fn a_workers_ai_account_id_is_a_provider_field_and_the_quirk_still_works() {
    let provider = |extra: &str| {
        format!("[providers.cf]\nfamily = \"workers-ai\"\napi_key = \"t\"\n{extra}\n")
    };
    let env = |k: &str| (k == "CF_ACCOUNT").then(|| "0123abcd".to_owned());
    let account = |c: &config::Config| c.providers["cf"].endpoint.quirks.account_id.clone();
    let c = load(&provider("account_id = \"${CF_ACCOUNT}\""), &env).unwrap();
    assert_eq!(account(&c).as_deref(), Some("0123abcd"));
    let c = load(&provider("quirks = { account_id = \"0123abcd\" }"), &env).unwrap();
    assert_eq!(account(&c).as_deref(), Some("0123abcd"));
    let c = load(
        &provider("account_id = \"0123abcd\"\nquirks = { account_id = \"0123abcd\" }"),
        &env,
    )
    .unwrap();
    assert_eq!(account(&c).as_deref(), Some("0123abcd"));

    let errors = load(
        &provider("account_id = \"0123abcd\"\nquirks = { account_id = \"ffff\" }"),
        &env,
    )
    .unwrap_err();
    assert!(
        errors.contains(":4: providers.cf.account_id: account_id and quirks.account_id differ"),
        "{errors}"
    );
    let errors = load(&provider(""), &env).unwrap_err();
    assert!(
        errors.contains("providers.cf.account_id: workers-ai needs account_id"),
        "{errors}"
    );
    let errors = load(
        "[providers.o]\nfamily = \"openai\"\naccount_id = \"x\"\n",
        &env,
    )
    .unwrap_err();
    assert!(
        errors.contains(":3: providers.o.account_id: account_id is for the workers-ai family only"),
        "{errors}"
    );
}

#[test]
fn an_active_profile_named_without_a_version_is_its_highest_version() {
    let profile = |v: u32| format!("[[profiles]]\nname = \"p\"\nversion = {v}\n");
    let text = format!(
        "active_profile = \"p\"\n[providers.m]\nfamily = \"mock\"\n{}{}{}[[profiles]]\nname = \"q\"\nversion = 20\n",
        profile(2),
        profile(10),
        profile(1)
    );
    let c = load(&text, &no_env).unwrap();
    assert_eq!(c.routing.active, "p@10");
    assert_eq!(c.routing.profile("p").unwrap().id(), "p@10");
    assert_eq!(c.routing.profile("p@2").unwrap().id(), "p@2");
    assert!(c.routing.profile("r").is_none());

    let errors = load(
        &text.replace("\"p\"\n[providers", "\"r\"\n[providers"),
        &no_env,
    )
    .unwrap_err();
    assert!(
        errors.contains(":1: active_profile: no profile \"r\""),
        "{errors}"
    );
}
