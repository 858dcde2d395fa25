//! The `[responses]` section: whether the OpenAI Responses door (`POST /v1/responses`) is
//! open. It is being built (stateless so far), so it stays off unless a config turns it on.
//! Never takes anything but `true` or `false`.

use super::checker::Checker;
use super::raw::RawResponses;

/// The Responses door's settings, validated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResponsesConfig {
    /// `POST /v1/responses` is served; when false it answers 404 saying how to turn it on.
    pub enabled: bool,
}

/// Validates `[responses]`: `enabled` is a boolean, false when absent.
pub(super) fn responses(c: &mut Checker<'_>, raw: &RawResponses) -> ResponsesConfig {
    let enabled = match &raw.enabled {
        None => false,
        Some(v) => match v.get_ref() {
            toml::Value::Boolean(b) => *b,
            _ => {
                c.error(
                    v.span(),
                    "responses.enabled",
                    "must be true or false (the Responses door is off unless it is true)",
                );
                false
            }
        },
    };
    ResponsesConfig { enabled }
}

#[cfg(test)]
mod tests {
    use super::super::parse;

    const MOCK: &str = "[providers.m]\nfamily = \"mock\"\n";

    #[test]
    fn the_responses_door_is_off_unless_turned_on() {
        let off = parse("f.toml", MOCK, &|_| None).map(|c| c.responses.enabled);
        assert_eq!(off, Ok(false));
        let text = format!("{MOCK}[responses]\nenabled = true\n");
        let on = parse("f.toml", &text, &|_| None).map(|c| c.responses.enabled);
        assert_eq!(on, Ok(true));
    }

    #[test]
    fn a_switch_that_is_not_a_boolean_is_refused_with_its_line_and_key() {
        let text = format!("{MOCK}[responses]\nenabled = \"yes\"\n");
        let errors = parse("f.toml", &text, &|_| None).map(|_| ()).unwrap_err();
        let shown = errors.to_string();
        assert_eq!(
            shown,
            "f.toml:4: responses.enabled: must be true or false (the Responses door is off unless it is true)"
        );
    }
}
