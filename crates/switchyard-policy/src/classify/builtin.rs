//! The built-in detectors: one regex per kind of sensitive data, its data class and the check
//! that confirms a match. Patterns use ASCII word boundaries `(?-u:\b)` and ASCII classes so
//! the scan stays in the lazy DFA on any input; they must never match a redaction placeholder.

use super::checks::{self, Check};
use crate::DataClass;

/// A built-in detector before compilation.
pub(crate) struct Builtin {
    /// The detector's name, also the placeholder's type (`[REDACTED:email]`).
    pub name: &'static str,
    /// The class a finding raises the request to.
    pub class: DataClass,
    /// The regex; a group named `secret` narrows the finding to the value.
    pub pattern: &'static str,
    /// Confirms or drops each match.
    pub check: Check,
}

/// Every built-in detector, in reporting order.
pub(crate) const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "email",
        class: DataClass::Pii,
        pattern: r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}(?-u:\b)",
        check: checks::accept,
    },
    Builtin {
        name: "phone",
        class: DataClass::Pii,
        pattern: concat!(
            // International, E.164 with separators: +44 20 7946 0958, +1 (555) 123-4567.
            r"\+[1-9][0-9]{0,3}(?:[ .-]?(?:\([0-9]{1,4}\)|[0-9]{1,5})){1,6}",
            // North American: (555) 123-4567, 555-123-4567, 1-800-555-0199.
            r"|(?:(?-u:\b)1[ .-])?(?:\([2-9][0-9]{2}\) ?|(?-u:\b)[2-9][0-9]{2}[ .-]?)[0-9]{3}[ .-][0-9]{4}",
            // National with trunk 0: 020 7946 0958, 030-12345678, and French 01 23 45 67 89.
            r"|(?-u:\b)0[1-9][0-9]{1,4}[ .-][0-9]{3,8}(?:[ .-][0-9]{2,8}){0,3}",
            r"|(?-u:\b)0[1-9](?:[ .-][0-9]{2}){4}",
        ),
        check: checks::phone,
    },
    Builtin {
        name: "us_ssn",
        class: DataClass::Pii,
        pattern: r"(?-u:\b)(?:[0-9]{3}-[0-9]{2}-[0-9]{4}|[0-9]{3} [0-9]{2} [0-9]{4})",
        check: checks::us_ssn,
    },
    Builtin {
        name: "payment_card",
        class: DataClass::Financial,
        pattern: r"(?-u:\b)[0-9](?:[ -]?[0-9]){12,18}",
        check: checks::payment_card,
    },
    Builtin {
        name: "iban",
        class: DataClass::Financial,
        pattern: r"(?-u:\b)[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}",
        check: checks::iban,
    },
    Builtin {
        name: "private_key",
        class: DataClass::Secret,
        pattern: concat!(
            r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----",
            r"(?:(?s:.)*?-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----",
            // Truncated, no END line: the base64 body (raw or with JSON escapes).
            r"|(?:[A-Za-z0-9+/=\s]|\\[nrt])*)",
        ),
        check: checks::accept,
    },
    Builtin {
        name: "anthropic_key",
        class: DataClass::Secret,
        pattern: r"(?-u:\b)sk-ant-[a-z]+[0-9]{2}-[A-Za-z0-9_-]{20,}",
        check: checks::token_end,
    },
    Builtin {
        name: "openai_key",
        class: DataClass::Secret,
        pattern: r"(?-u:\b)sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}",
        check: checks::openai_key,
    },
    Builtin {
        name: "aws_access_key",
        class: DataClass::Secret,
        pattern: r"(?-u:\b)(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?-u:\b)",
        check: checks::accept,
    },
    Builtin {
        name: "google_api_key",
        class: DataClass::Secret,
        pattern: r"(?-u:\b)AIza[0-9A-Za-z_-]{35}",
        check: checks::token_end,
    },
    Builtin {
        name: "github_token",
        class: DataClass::Secret,
        pattern: r"(?-u:\b)(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,})",
        check: checks::token_end,
    },
    Builtin {
        name: "slack_token",
        class: DataClass::Secret,
        pattern: concat!(
            r"(?-u:\b)(?:xox[abposre]-[A-Za-z0-9-]{10,}",
            r"|https://hooks\.slack\.com/services/[A-Za-z0-9/_-]{20,})",
        ),
        check: checks::token_end,
    },
    Builtin {
        name: "jwt",
        class: DataClass::Secret,
        pattern: r"(?-u:\b)eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*",
        check: checks::accept,
    },
    Builtin {
        name: "bearer_token",
        class: DataClass::Secret,
        pattern: r"(?-u:\b[Bb]earer)[ \t]+(?P<secret>[A-Za-z0-9._~+/-]{16,}=*)",
        check: checks::random_token,
    },
    Builtin {
        name: "secret_assignment",
        class: DataClass::Secret,
        pattern: concat!(
            r"(?-u:(?i:\b(?:[a-z0-9]+[_-])*(?:api[_-]?key|api[_-]?secret|secret[_-]?key",
            r"|client[_-]?secret|access[_-]?key(?:[_-]?id)?|access[_-]?token|auth[_-]?token",
            r"|refresh[_-]?token|session[_-]?token|private[_-]?key|secret|token|password",
            r"|passwd|pwd)\b))",
            r#"["']?[ \t]*[:=]>?[ \t]*["']?(?P<secret>[A-Za-z0-9_\-+/=.~]{12,})"#,
        ),
        check: checks::random_token,
    },
];
