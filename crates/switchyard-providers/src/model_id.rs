//! Model id grammars, one per wire family, checked before any I/O: an id its family could not
//! name is the client's bad request (400), and an id that fills URL path segments comes out as
//! a [`ModelPath`], the only form in which a model reaches [`crate::url`]. The grammars follow
//! what each upstream documents, kept a little wider where that costs nothing (they never let
//! a segment be empty, `.` or `..`, and never admit `/`, `?`, `#`, `%` or spaces where a
//! segment is built). Never echoes a long id whole, nor a control character raw.

use switchyard_protocol::{ErrorKind, ProviderError};

/// A model id its family's grammar accepted, and the URL path segments it fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelPath<'a> {
    /// The segment a family puts before a bare id (`models` for Gemini).
    collection: Option<&'static str>,
    id: &'a str,
    /// `/` separates segments of the id (Workers AI `@cf/meta/x`, Gemini `tunedModels/x`);
    /// otherwise the id is one segment and a `/` in it is data (a Bedrock ARN), encoded.
    split: bool,
}

impl<'a> ModelPath<'a> {
    /// The id as the client's request named it.
    pub fn id(&self) -> &'a str {
        self.id
    }

    /// The path segments, unencoded, in order.
    pub fn segments(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        let split = self.split;
        self.collection
            .into_iter()
            .chain(self.id.split(move |c| split && c == '/'))
    }

    /// The segments joined by `/` (Gemini's resource name, `models/gemini-2.5-flash`).
    pub fn resource(&self) -> String {
        self.segments().collect::<Vec<_>>().join("/")
    }
}

/// OpenAI-compatible servers (and Anthropic) take the model in the JSON body only, and name
/// models freely (`gpt-4o`, `llama3.1:8b`, `meta-llama/Llama-3-70b-chat-hf`): 1 to 256
/// bytes without control characters.
pub fn body(model: &str) -> Result<&str, ProviderError> {
    let what = "a model id";
    if model.is_empty() || model.len() > 256 {
        return Err(refused(what, model, "it must be 1 to 256 bytes long"));
    }
    if let Some(c) = model.chars().find(|c| c.is_control()) {
        return Err(refused(what, model, &not_allowed(c)));
    }
    Ok(model)
}

/// An Azure OpenAI deployment name, the one segment of
/// `/openai/deployments/{deployment}/…`: 1 to 64 letters, digits, `-`, `_` and `.`, starting
/// with a letter or digit (Azure's own rule is narrower, 2 to 64 without `.` in most tools).
pub fn azure_deployment(model: &str) -> Result<ModelPath<'_>, ProviderError> {
    let what = "an Azure OpenAI deployment name";
    token(model, 64, |c| matches!(c, '-' | '_' | '.')).map_err(|p| refused(what, model, &p))?;
    Ok(ModelPath {
        collection: None,
        id: model,
        split: false,
    })
}

/// A Gemini model: a bare id (`gemini-2.5-flash`, put under `models/`), or `models/{id}` or
/// `tunedModels/{id}`; the id is 1 to 128 letters, digits, `-`, `_`, `.` and `@`, starting
/// with a letter or digit.
pub fn gemini(model: &str) -> Result<ModelPath<'_>, ProviderError> {
    let what = "a Gemini model id";
    let (collection, id) = match model.split_once('/') {
        None => (Some("models"), model),
        Some(("models" | "tunedModels", id)) => (None, id),
        Some(_) => {
            return Err(refused(
                what,
                model,
                "give a bare id, models/{id} or tunedModels/{id}",
            ));
        }
    };
    token(id, 128, |c| matches!(c, '-' | '_' | '.' | '@')).map_err(|p| refused(what, model, &p))?;
    Ok(ModelPath {
        collection,
        id: model,
        split: true,
    })
}

/// A Bedrock model id (`anthropic.claude-3-haiku-20240307-v1:0`), inference profile id
/// (`us.anthropic.…`) or ARN (foundation model, inference profile, provisioned throughput,
/// prompt): one path segment, `:` and `/` percent-encoded as the AWS SDKs do.
///
/// Ids are 1 to 256 letters, digits, `.`, `-`, `_` and `:`, starting with a letter or digit.
/// ARNs are `arn:{partition}:{bedrock|sagemaker}:{region}:{account}:{type}/{id}[/{id}…]`,
/// at most 2048 bytes, with the id pieces following the id rule.
pub fn bedrock(model: &str) -> Result<ModelPath<'_>, ProviderError> {
    let what = "a Bedrock model id or ARN";
    let checked = match model.strip_prefix("arn:") {
        Some(rest) if model.len() <= 2048 => arn(rest),
        Some(_) => Err("an ARN is at most 2048 bytes".to_owned()),
        None => token(model, 256, |c| matches!(c, '-' | '_' | '.' | ':')),
    };
    checked.map_err(|p| refused(what, model, &p))?;
    Ok(ModelPath {
        collection: None,
        id: model,
        split: false,
    })
}

/// The part of a Bedrock ARN after `arn:`.
fn arn(rest: &str) -> Result<(), String> {
    let mut parts = rest.splitn(5, ':');
    let (partition, service, region, account, resource) = match (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) {
        (Some(p), Some(s), Some(r), Some(a), Some(res)) => (p, s, r, a, res),
        _ => return Err("an ARN has six `:`-separated parts".to_owned()),
    };
    let lower = |s: &str| s.bytes().all(|b| b.is_ascii_lowercase() || b == b'-');
    if !(partition == "aws" || partition.strip_prefix("aws-").is_some_and(lower)) {
        return Err("the ARN's partition is not an AWS partition".to_owned());
    }
    if !matches!(service, "bedrock" | "sagemaker") {
        return Err("the ARN's service is not bedrock or sagemaker".to_owned());
    }
    let region_ok = region.len() <= 20
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !region_ok {
        return Err("the ARN's region is not a region name".to_owned());
    }
    if !(account.is_empty() || (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())))
    {
        return Err("the ARN's account is not 12 digits".to_owned());
    }
    let Some((kind, ids)) = resource.split_once('/') else {
        return Err("the ARN's resource is not {type}/{id}".to_owned());
    };
    if kind.is_empty() || !lower(kind) {
        return Err("the ARN's resource type is not lowercase letters and `-`".to_owned());
    }
    for id in ids.split('/') {
        token(id, 256, |c| matches!(c, '-' | '_' | '.' | ':'))?;
    }
    Ok(())
}

/// A Workers AI model: `@cf/{author}/{name}` or `@hf/{author}/{name}`
/// (`@cf/meta/llama-3.1-8b-instruct`), 1 to 4 segments after the namespace, each letters,
/// digits, `.`, `-`, `_` and `:` starting with a letter or digit; at most 256 bytes. Each `/`
/// separates path segments of `/ai/run/{model}`.
pub fn workers_ai(model: &str) -> Result<ModelPath<'_>, ProviderError> {
    let what = "a Workers AI model id (like @cf/meta/llama-3.1-8b-instruct)";
    let Some(rest) = model
        .strip_prefix("@cf/")
        .or_else(|| model.strip_prefix("@hf/"))
    else {
        return Err(refused(what, model, "it must start with @cf/ or @hf/"));
    };
    if model.len() > 256 {
        return Err(refused(what, model, "it is longer than 256 bytes"));
    }
    if rest.split('/').count() > 4 {
        return Err(refused(
            what,
            model,
            "it has more than 4 segments after @cf/",
        ));
    }
    for segment in rest.split('/') {
        token(segment, 256, |c| matches!(c, '-' | '_' | '.' | ':'))
            .map_err(|p| refused(what, model, &p))?;
    }
    Ok(ModelPath {
        collection: None,
        id: model,
        split: true,
    })
}

/// 1 to `max` bytes of ASCII letters, digits and `also`, starting with a letter or digit (so
/// never `.`, `..` or a hidden leading symbol).
fn token(s: &str, max: usize, also: impl Fn(char) -> bool) -> Result<(), String> {
    let Some(first) = s.chars().next() else {
        return Err("a segment is empty".to_owned());
    };
    if s.len() > max {
        return Err(format!("a segment is longer than {max} bytes"));
    }
    if !first.is_ascii_alphanumeric() {
        return Err(format!(
            "a segment starts with {}, not a letter or digit",
            quoted(first)
        ));
    }
    match s.chars().find(|c| !(c.is_ascii_alphanumeric() || also(*c))) {
        Some(c) => Err(not_allowed(c)),
        None => Ok(()),
    }
}

fn not_allowed(c: char) -> String {
    format!("{} is not allowed", quoted(c))
}

/// A character as it reads in a message: `'/'`, `'\n'`, `'\u{202e}'`.
fn quoted(c: char) -> String {
    format!("'{}'", c.escape_debug())
}

/// Ids are shown up to this many characters in messages.
const SHOWN_CHARS: usize = 64;

/// The client's bad request: `model` is not `what`, because of `problem`.
fn refused(what: &str, model: &str, problem: &str) -> ProviderError {
    let mut shown: String = model
        .chars()
        .take(SHOWN_CHARS)
        .flat_map(char::escape_debug)
        .collect();
    if model.chars().nth(SHOWN_CHARS).is_some() {
        shown.push('…');
    }
    ProviderError::new(
        ErrorKind::BadRequest,
        format!("model \"{shown}\" is not {what}: {problem}"),
    )
    .with_status(400)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn segments(path: ModelPath<'_>) -> Vec<&str> {
        path.segments().collect()
    }

    #[test]
    fn documented_ids_are_accepted_with_their_segments() {
        assert_eq!(
            segments(azure_deployment("gpt-4o-mini").unwrap()),
            ["gpt-4o-mini"]
        );
        assert_eq!(
            segments(gemini("gemini-2.5-flash").unwrap()),
            ["models", "gemini-2.5-flash"]
        );
        assert_eq!(
            segments(gemini("tunedModels/my-1").unwrap()),
            ["tunedModels", "my-1"]
        );
        for id in [
            "anthropic.claude-3-haiku-20240307-v1:0",
            "us.anthropic.claude-3-5-sonnet-20241022-v2:0",
            "amazon.titan-embed-text-v2:0",
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.x-v1:0",
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
            "arn:aws-cn:bedrock:cn-north-1:123456789012:provisioned-model/abc123",
            "arn:aws:bedrock:us-east-1:123456789012:prompt/PROMPT12345:1",
        ] {
            assert_eq!(segments(bedrock(id).unwrap()), [id]);
        }
        assert_eq!(
            segments(workers_ai("@cf/meta/llama-3.1-8b-instruct").unwrap()),
            ["@cf", "meta", "llama-3.1-8b-instruct"]
        );
        assert_eq!(
            segments(workers_ai("@hf/thebloke/deepseek-coder-6.7b-base-awq").unwrap()),
            ["@hf", "thebloke", "deepseek-coder-6.7b-base-awq"]
        );
        for id in [
            "gpt-4o",
            "llama3.1:8b",
            "meta-llama/Llama-3-70b-chat-hf",
            "a b",
        ] {
            assert_eq!(body(id).unwrap(), id);
        }
    }

    #[test]
    fn ids_that_would_leave_their_segments_are_refused() {
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "a?b",
            "a#b",
            "a%2F",
            "-x",
            "é",
            &"a".repeat(65),
        ] {
            assert!(azure_deployment(bad).is_err(), "{bad:?}");
        }
        for bad in [
            "",
            "..",
            "models/..",
            "models/",
            "a/b/c",
            "files/x",
            "x?key=1",
            "a b",
        ] {
            assert!(gemini(bad).is_err(), "{bad:?}");
        }
        for bad in [
            "",
            "..",
            ".x",
            "a/b",
            "a?b",
            "a b",
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/../x",
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/",
            "arn:aws:s3:::bucket/x",
            "arn:aws:bedrock:us-east-1:1234:foundation-model/x",
        ] {
            assert!(bedrock(bad).is_err(), "{bad:?}");
        }
        for bad in [
            "",
            "llama",
            "@cf/",
            "@cf/meta/.",
            "@cf/./x",
            "@cf/../x",
            "@cf//x",
            "@cf/m?x=1",
            "@xx/meta/x",
            "@cf/a/b/c/d/e",
        ] {
            assert!(workers_ai(bad).is_err(), "{bad:?}");
        }
        for bad in ["", "a\nb", "\u{7f}", &"a".repeat(257)] {
            assert!(body(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_refusal_is_a_400_that_shows_a_short_escaped_id_and_the_problem() {
        let err = azure_deployment("../../../admin/secret?x=").unwrap_err();
        assert_eq!((err.kind, err.status), (ErrorKind::BadRequest, Some(400)));
        assert_eq!(
            err.message,
            "model \"../../../admin/secret?x=\" is not an Azure OpenAI deployment name: \
             a segment starts with '.', not a letter or digit"
        );
        let long = format!("a\n{}", "b".repeat(200));
        let err = body(&long).unwrap_err();
        assert!(
            err.message.starts_with("model \"a\\nbbb"),
            "{}",
            err.message
        );
        assert!(
            err.message
                .contains("b…\" is not a model id: '\\n' is not allowed")
        );
        assert!(err.message.len() < 160, "{}", err.message);
        let err = workers_ai("@cf/meta/x\u{202e}").unwrap_err();
        assert!(
            err.message.contains("'\\u{202e}' is not allowed"),
            "{}",
            err.message
        );
    }
}
