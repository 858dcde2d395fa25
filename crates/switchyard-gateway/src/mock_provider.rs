//! The built-in `mock` family: answers in-process with the mock upstream's deterministic
//! generator, so a fresh checkout serves real completions with no keys and no network.

use async_trait::async_trait;
use futures::StreamExt;
use switchyard_mock::synth;
use switchyard_protocol::{
    ChatRequest, ChatResponse, EmbedRequest, EmbedResponse, ErrorKind, ProviderError,
};
use switchyard_providers::{Call, EventStream, Provider};

/// The in-process mock provider.
pub struct MockProvider;

fn check_kind(model: &str, want_embedding: bool) -> Result<(), ProviderError> {
    let is_embedding = model.contains("embed");
    if is_embedding == want_embedding {
        Ok(())
    } else if want_embedding {
        Err(ProviderError::new(
            ErrorKind::BadRequest,
            format!("mock model \"{model}\" is a chat model, not an embedding model"),
        )
        .with_status(400))
    } else {
        Err(ProviderError::new(
            ErrorKind::BadRequest,
            format!("mock model \"{model}\" is an embedding model; use /v1/embeddings"),
        )
        .with_status(400))
    }
}

#[async_trait]
impl Provider for MockProvider {
    async fn chat(&self, call: Call<'_>, req: &ChatRequest) -> Result<ChatResponse, ProviderError> {
        check_kind(call.model, false)?;
        Ok(synth::complete(req, call.model, synth::Shape::default()))
    }

    async fn chat_stream(
        &self,
        call: Call<'_>,
        req: &ChatRequest,
    ) -> Result<EventStream, ProviderError> {
        check_kind(call.model, false)?;
        let resp = synth::complete(req, call.model, synth::Shape::default());
        let events = synth::stream_events(&resp, None);
        Ok(futures::stream::iter(events.into_iter().map(Ok)).boxed())
    }

    async fn embed(
        &self,
        call: Call<'_>,
        req: &EmbedRequest,
    ) -> Result<EmbedResponse, ProviderError> {
        check_kind(call.model, true)?;
        Ok(synth::embed(req, call.model, 256))
    }
}
