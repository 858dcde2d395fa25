"""One OpenAI client, every provider family: the gateway translates the same request to each
family's wire format (served by the mock upstream) and back."""
import json

import openai
import pytest

FAMILIES = [
    "up/gpt-4o-mini",
    "claude/claude-haiku-4-5",
    "aws/anthropic.claude-3-haiku-20240307-v1:0",
    "google/gemini-2.5-flash",
    "cf/@cf/meta/llama-3.1-8b-instruct",
    "cfo/@cf/meta/llama-3.1-8b-instruct",
]

TOOL = {
    "type": "function",
    "function": {
        "name": "lookup",
        "parameters": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
    },
}


@pytest.fixture
def client(gateway_to_mock):
    return openai.OpenAI(base_url=gateway_to_mock.root + "/v1", api_key="unused", max_retries=0)


@pytest.mark.parametrize("model", FAMILIES)
def test_chat_stream_and_tools_through_each_family(client, model):
    raw = client.chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}]
    )
    assert raw.headers["x-switchyard-model"] == model
    plain = raw.parse()
    assert plain.choices[0].message.content and plain.usage.completion_tokens > 0

    text = ""
    for chunk in client.chat.completions.create(
        model=model, messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}], stream=True
    ):
        for choice in chunk.choices:
            text += choice.delta.content or ""
    assert text == plain.choices[0].message.content

    forced = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "find"}],
        tools=[TOOL],
        tool_choice={"type": "function", "function": {"name": "lookup"}},
    )
    call = forced.choices[0].message.tool_calls[0]
    assert call.function.name == "lookup" and isinstance(json.loads(call.function.arguments)["q"], str)
    follow = client.chat.completions.create(
        model=model,
        tools=[TOOL],
        messages=[
            {"role": "user", "content": "find"},
            {"role": "assistant", "tool_calls": [call.model_dump()]},
            {"role": "tool", "tool_call_id": call.id, "content": "found it"},
        ],
    )
    assert follow.choices[0].message.content


def test_bedrock_embeddings_through_the_gateway(client):
    resp = client.embeddings.create(model="aws/amazon.titan-embed-text-v2:0", input=["a", "b"])
    assert len(resp.data) == 2 and len(resp.data[0].embedding) > 0


def test_gemini_embeddings_through_the_gateway(client):
    resp = client.embeddings.create(model="google/text-embedding-004", input=["a", "b"])
    assert len(resp.data) == 2 and resp.data[0].embedding != resp.data[1].embedding
