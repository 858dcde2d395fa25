//! The built-in `mock` family: answers in-process with the mock upstream's deterministic
//! generator, so a fresh checkout serves real completions with no keys and no network. Answers
//! are built within the mock's limits (a request past one is a 400 naming it) and off the async
//! workers unless light; never generate on a worker what a request can make heavy.

use async_trait::async_trait;
use futures::StreamExt;
use switchyard_mock::embedding::Dimensions;
use switchyard_mock::{Stop, offload, synth};
use switchyard_protocol::{
    ChatRequest, ChatResponse, EmbedRequest, EmbedResponse, ErrorKind, ProviderError,
};
use switchyard_providers::{Call, EventStream, Provider};

/// Vector size of the mock's embedding models unless the request names one; they give at most
/// 3072 (see [`Dimensions::of`]).
const EMBEDDING_DIMENSIONS: u32 = 256;

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

/// A generation that stopped, as the gateway's errors say it: a limit is the client's fault
/// (400); a cancelled one is never seen (its caller is gone); a failure is the upstream's (500).
fn provider_error(stop: Stop) -> ProviderError {
    let (kind, status) = match &stop {
        Stop::Refused(_) => (ErrorKind::BadRequest, 400),
        Stop::Cancelled | Stop::Failed(_) => (ErrorKind::Upstream5xx, 500),
    };
    ProviderError::new(kind, stop.to_string()).with_status(status)
}

#[async_trait]
impl Provider for MockProvider {
    async fn chat(&self, call: Call<'_>, req: &ChatRequest) -> Result<ChatResponse, ProviderError> {
        check_kind(call.model, false)?;
        offload::chat(req, call.model, synth::Shape::default())
            .await
            .map_err(provider_error)
    }

    async fn chat_stream(
        &self,
        call: Call<'_>,
        req: &ChatRequest,
    ) -> Result<EventStream, ProviderError> {
        check_kind(call.model, false)?;
        let resp = offload::chat(req, call.model, synth::Shape::default())
            .await
            .map_err(provider_error)?;
        let events = synth::stream_events(&resp, None);
        Ok(futures::stream::iter(events.into_iter().map(Ok)).boxed())
    }

    async fn embed(
        &self,
        call: Call<'_>,
        req: &EmbedRequest,
    ) -> Result<EmbedResponse, ProviderError> {
        check_kind(call.model, true)?;
        let dims = Dimensions::of(call.model, EMBEDDING_DIMENSIONS);
        offload::embed(req, call.model, dims)
            .await
            .map_err(provider_error)
    }
}
