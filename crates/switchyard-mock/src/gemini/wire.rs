//! The Gemini API's request and response bodies as the mock reads and writes them, from
//! Google's v1beta reference (`GenerateContentRequest`, `Content`, `Part`, `Tool`, `Schema`,
//! `GenerationConfig`, `BatchEmbedContentsRequest`, …). Requests are strict as the real API is:
//! a field it does not know is refused ("Unknown name"), as are values of the wrong type.
//! Like the real API, both the JSON (camelCase) and proto (snake_case) names are accepted.
// Fields the mock accepts (so a request parses as it would upstream) but does not act on.
#![allow(dead_code)]

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenerateContentRequest {
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub contents: Vec<Content>,
    #[serde(default)]
    pub tools: Vec<Tool>,
    #[serde(default, alias = "tool_config")]
    pub tool_config: Option<ToolConfig>,
    #[serde(default, alias = "safety_settings")]
    pub safety_settings: Vec<SafetySetting>,
    #[serde(default, alias = "system_instruction")]
    pub system_instruction: Option<Content>,
    #[serde(default, alias = "generation_config")]
    pub generation_config: Option<GenerationConfig>,
    #[serde(default, alias = "cached_content")]
    pub cached_content: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Content {
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub parts: Vec<Part>,
}

/// A part: exactly one of the data fields (the `data` oneof) must be set.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Part {
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default, alias = "inline_data")]
    pub inline_data: Option<Blob>,
    #[serde(default, alias = "file_data")]
    pub file_data: Option<FileData>,
    #[serde(default, alias = "function_call")]
    pub function_call: Option<FunctionCall>,
    #[serde(default, alias = "function_response")]
    pub function_response: Option<FunctionResponse>,
    #[serde(default, alias = "executable_code")]
    pub executable_code: Option<Value>,
    #[serde(default, alias = "code_execution_result")]
    pub code_execution_result: Option<Value>,
    #[serde(default)]
    pub thought: Option<bool>,
    #[serde(default, alias = "thought_signature")]
    pub thought_signature: Option<String>,
    #[serde(default, alias = "video_metadata")]
    pub video_metadata: Option<Value>,
    #[serde(default, alias = "part_metadata")]
    pub part_metadata: Option<Value>,
    #[serde(default, alias = "media_resolution")]
    pub media_resolution: Option<Value>,
}

impl Part {
    /// How many fields of the `data` oneof are set.
    pub fn data_fields(&self) -> usize {
        [
            self.text.is_some(),
            self.inline_data.is_some(),
            self.file_data.is_some(),
            self.function_call.is_some(),
            self.function_response.is_some(),
            self.executable_code.is_some(),
            self.code_execution_result.is_some(),
        ]
        .into_iter()
        .filter(|set| *set)
        .count()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Blob {
    #[serde(alias = "mime_type")]
    pub mime_type: String,
    pub data: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FileData {
    #[serde(default, alias = "mime_type")]
    pub mime_type: Option<String>,
    #[serde(alias = "file_uri")]
    pub file_uri: String,
}

/// `args` is a `google.protobuf.Struct`: a JSON object.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionCall {
    #[serde(default)]
    pub id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub args: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FunctionResponse {
    #[serde(default)]
    pub id: Option<String>,
    pub name: String,
    pub response: Map<String, Value>,
    #[serde(default, alias = "will_continue")]
    pub will_continue: Option<bool>,
    #[serde(default)]
    pub scheduling: Option<String>,
    #[serde(default)]
    pub parts: Option<Vec<Value>>,
}

/// One tool: function declarations, or one of Google's built-in tools (accepted, not run).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Tool {
    #[serde(default, alias = "function_declarations")]
    pub function_declarations: Vec<FunctionDeclaration>,
    #[serde(default, alias = "code_execution")]
    pub code_execution: Option<Value>,
    #[serde(default, alias = "google_search")]
    pub google_search: Option<Value>,
    #[serde(default, alias = "google_search_retrieval")]
    pub google_search_retrieval: Option<Value>,
    #[serde(default, alias = "url_context")]
    pub url_context: Option<Value>,
    #[serde(default, alias = "computer_use")]
    pub computer_use: Option<Value>,
    #[serde(default, alias = "file_search")]
    pub file_search: Option<Value>,
    #[serde(default, alias = "google_maps")]
    pub google_maps: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FunctionDeclaration {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub parameters: Option<Schema>,
    #[serde(default, alias = "parameters_json_schema")]
    pub parameters_json_schema: Option<Value>,
    #[serde(default)]
    pub response: Option<Schema>,
    #[serde(default, alias = "response_json_schema")]
    pub response_json_schema: Option<Value>,
    #[serde(default)]
    pub behavior: Option<String>,
}

/// Google's OpenAPI 3.0 subset. `additionalProperties`, `$ref` and friends are unknown names
/// here, as the real API says when a raw JSON Schema is sent as `parameters`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Schema {
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub format: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub nullable: Option<bool>,
    #[serde(default, rename = "enum")]
    pub enum_values: Option<Vec<String>>,
    #[serde(default, alias = "max_items", deserialize_with = "int64")]
    pub max_items: Option<i64>,
    #[serde(default, alias = "min_items", deserialize_with = "int64")]
    pub min_items: Option<i64>,
    #[serde(default)]
    pub properties: Option<BTreeMap<String, Schema>>,
    #[serde(default)]
    pub required: Option<Vec<String>>,
    #[serde(default, alias = "min_properties", deserialize_with = "int64")]
    pub min_properties: Option<i64>,
    #[serde(default, alias = "max_properties", deserialize_with = "int64")]
    pub max_properties: Option<i64>,
    #[serde(default, alias = "min_length", deserialize_with = "int64")]
    pub min_length: Option<i64>,
    #[serde(default, alias = "max_length", deserialize_with = "int64")]
    pub max_length: Option<i64>,
    #[serde(default)]
    pub pattern: Option<String>,
    #[serde(default)]
    pub example: Option<Value>,
    #[serde(default, alias = "any_of")]
    pub any_of: Option<Vec<Schema>>,
    #[serde(default, alias = "property_ordering")]
    pub property_ordering: Option<Vec<String>>,
    #[serde(default)]
    pub default: Option<Value>,
    #[serde(default)]
    pub items: Option<Box<Schema>>,
    #[serde(default)]
    pub minimum: Option<f64>,
    #[serde(default)]
    pub maximum: Option<f64>,
}

/// An int64 in proto JSON: a number or a decimal string.
fn int64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom("not an int64")),
        Value::String(s) => s
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("\"{s}\" is not an int64"))),
        other => Err(serde::de::Error::custom(format!("{other} is not an int64"))),
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ToolConfig {
    #[serde(default, alias = "function_calling_config")]
    pub function_calling_config: Option<FunctionCallingConfig>,
    #[serde(default, alias = "retrieval_config")]
    pub retrieval_config: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FunctionCallingConfig {
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default, alias = "allowed_function_names")]
    pub allowed_function_names: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SafetySetting {
    pub category: String,
    pub threshold: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenerationConfig {
    #[serde(default, alias = "stop_sequences")]
    pub stop_sequences: Vec<String>,
    #[serde(default, alias = "response_mime_type")]
    pub response_mime_type: Option<String>,
    #[serde(default, alias = "response_schema")]
    pub response_schema: Option<Schema>,
    #[serde(default, alias = "response_json_schema", alias = "_responseJsonSchema")]
    pub response_json_schema: Option<Value>,
    #[serde(default, alias = "response_json_schema_ordered")]
    pub response_json_schema_ordered: Option<Value>,
    #[serde(default, alias = "response_modalities")]
    pub response_modalities: Vec<String>,
    #[serde(default, alias = "candidate_count")]
    pub candidate_count: Option<i32>,
    #[serde(default, alias = "max_output_tokens")]
    pub max_output_tokens: Option<i32>,
    #[serde(default)]
    pub temperature: Option<f64>,
    #[serde(default, alias = "top_p")]
    pub top_p: Option<f64>,
    #[serde(default, alias = "top_k")]
    pub top_k: Option<i32>,
    #[serde(default)]
    pub seed: Option<i32>,
    #[serde(default, alias = "presence_penalty")]
    pub presence_penalty: Option<f64>,
    #[serde(default, alias = "frequency_penalty")]
    pub frequency_penalty: Option<f64>,
    #[serde(default, alias = "response_logprobs")]
    pub response_logprobs: Option<bool>,
    #[serde(default)]
    pub logprobs: Option<i32>,
    #[serde(default, alias = "enable_enhanced_civic_answers")]
    pub enable_enhanced_civic_answers: Option<bool>,
    #[serde(default, alias = "speech_config")]
    pub speech_config: Option<Value>,
    #[serde(default, alias = "thinking_config")]
    pub thinking_config: Option<ThinkingConfig>,
    #[serde(default, alias = "image_config")]
    pub image_config: Option<Value>,
    #[serde(default, alias = "media_resolution")]
    pub media_resolution: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ThinkingConfig {
    #[serde(default, alias = "include_thoughts")]
    pub include_thoughts: Option<bool>,
    #[serde(default, alias = "thinking_budget")]
    pub thinking_budget: Option<i32>,
    #[serde(default, alias = "thinking_level")]
    pub thinking_level: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchEmbedContentsRequest {
    #[serde(default)]
    pub requests: Vec<EmbedContentRequest>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EmbedContentRequest {
    pub model: String,
    pub content: Content,
    #[serde(default, alias = "task_type")]
    pub task_type: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default, alias = "output_dimensionality")]
    pub output_dimensionality: Option<i32>,
}

/// What the mock answers: a `GenerateContentResponse`, whole or as one stream chunk.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateContentResponse {
    pub candidates: Vec<Candidate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage_metadata: Option<UsageMetadata>,
    pub model_version: String,
    pub response_id: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Candidate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<ContentOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<&'static str>,
    /// proto3 JSON leaves a zero index out.
    #[serde(skip_serializing_if = "is_zero")]
    pub index: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Serialize)]
pub struct ContentOut {
    pub parts: Vec<PartOut>,
    pub role: &'static str,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PartOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function_call: Option<FunctionCallOut>,
}

/// Gemini's developer API sends calls without an `id`.
#[derive(Debug, Clone, Serialize)]
pub struct FunctionCallOut {
    pub name: String,
    pub args: Value,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageMetadata {
    pub prompt_token_count: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub candidates_token_count: Option<u64>,
    pub total_token_count: u64,
    pub prompt_tokens_details: Vec<ModalityTokenCount>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModalityTokenCount {
    pub modality: &'static str,
    pub token_count: u64,
}

#[derive(Debug, Serialize)]
pub struct BatchEmbedContentsResponse {
    pub embeddings: Vec<ContentEmbedding>,
}

#[derive(Debug, Serialize)]
pub struct ContentEmbedding {
    pub values: Vec<f32>,
}
