//! What a `Response` object repeats of its request (instructions, tools, tool choice, text
//! format, sampling, metadata), and the ids and time that name one response. Built from the
//! canonical request once it is checked, so the answer says what was actually asked upstream.

use super::*;
use crate::canonical::{ChatRequest, ResponseFormat, ToolChoice};

/// The request's parameters as the `Response` object repeats them.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseParams {
    /// The model as the client named it.
    pub model: String,
    pub instructions: Option<String>,
    pub tools: Vec<ToolWire>,
    pub tool_choice: ToolChoiceWire,
    pub text: TextConfig,
    pub max_output_tokens: Option<u32>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub parallel_tool_calls: bool,
    pub metadata: BTreeMap<String, String>,
    pub user: Option<String>,
}

impl ResponseParams {
    /// The parameters of `req`, whose instructions were `instructions`.
    pub fn of(req: &ChatRequest, instructions: Option<String>) -> Self {
        let tools = req
            .tools
            .iter()
            .map(|t| ToolWire {
                kind: "function".into(),
                name: Some(t.name.clone()),
                description: t.description.clone(),
                parameters: Some(t.parameters.clone()),
                strict: t.strict,
            })
            .collect();
        let mode = |m: &str| ToolChoiceWire::Mode(m.to_owned());
        let tool_choice = match &req.tool_choice {
            None | Some(ToolChoice::Auto) => mode("auto"),
            Some(ToolChoice::None) => mode("none"),
            Some(ToolChoice::Required) => mode("required"),
            Some(ToolChoice::Function(name)) => ToolChoiceWire::Named {
                kind: "function".into(),
                name: Some(name.clone()),
            },
        };
        let format = |kind: &str| TextFormat {
            kind: kind.to_owned(),
            name: None,
            schema: None,
            strict: None,
            description: None,
        };
        let format = match &req.response_format {
            None | Some(ResponseFormat::Text) => format("text"),
            Some(ResponseFormat::JsonObject) => format("json_object"),
            Some(ResponseFormat::JsonSchema {
                name,
                schema,
                strict,
            }) => TextFormat {
                name: Some(name.clone()),
                schema: Some(schema.clone()),
                strict: *strict,
                ..format("json_schema")
            },
        };
        Self {
            model: req.model.clone(),
            instructions,
            tools,
            tool_choice,
            text: TextConfig {
                format: Some(format),
                verbosity: None,
            },
            max_output_tokens: req.max_tokens,
            temperature: req.temperature,
            top_p: req.top_p,
            parallel_tool_calls: req.parallel_tool_calls.unwrap_or(true),
            metadata: req.metadata.clone(),
            user: req.user.clone(),
        }
    }

    /// The `Response` object of these parameters with `status` and no output yet.
    pub(crate) fn response(&self, ids: &ResponseIds, status: &str) -> ResponseObject {
        ResponseObject {
            id: ids.response.clone(),
            object: "response".into(),
            created_at: ids.created_at,
            status: status.to_owned(),
            background: false,
            error: None,
            incomplete_details: None,
            instructions: self.instructions.clone(),
            max_output_tokens: self.max_output_tokens,
            metadata: self.metadata.clone(),
            model: self.model.clone(),
            output: Vec::new(),
            parallel_tool_calls: self.parallel_tool_calls,
            previous_response_id: None,
            store: false,
            temperature: self.temperature,
            text: self.text.clone(),
            tool_choice: self.tool_choice.clone(),
            tools: self.tools.clone(),
            top_p: self.top_p,
            truncation: "disabled".into(),
            usage: None,
            user: self.user.clone(),
        }
    }
}

/// What names one response: its id (`resp_…`), from which its items' ids are made
/// (`msg_…_0`, `fc_…_1`), and when it was created (seconds since the epoch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseIds {
    pub response: String,
    pub created_at: u64,
}

impl ResponseIds {
    /// `unique` is what makes the id unique (the gateway's random id text).
    pub fn new(unique: &str, created_at: u64) -> Self {
        Self {
            response: format!("resp_{unique}"),
            created_at,
        }
    }

    /// The id of output item `index`: `msg_…` for a message, `fc_…` for a function call.
    pub(crate) fn item(&self, prefix: &str, index: usize) -> String {
        let unique = self
            .response
            .strip_prefix("resp_")
            .unwrap_or(&self.response);
        format!("{prefix}_{unique}_{index}")
    }
}
