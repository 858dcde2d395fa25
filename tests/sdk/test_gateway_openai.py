"""The official `openai` SDK against the real gateway binary on loopback."""
import json

import requests
import openai
import pytest

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1, "maximum": 5}},
            "required": ["city", "days"],
        },
    },
}


@pytest.fixture
def client(gateway):
    return openai.OpenAI(base_url=gateway + "/v1", api_key="unused", max_retries=0)


@pytest.fixture
def upstream_client(gateway_to_mock):
    return openai.OpenAI(base_url=gateway_to_mock.root + "/v1", api_key="unused", max_retries=0)


def test_chat(client):
    resp = client.chat.completions.create(
        model="fast", messages=[{"role": "user", "content": "Hello"}], temperature=0.2, seed=7, user="u1"
    )
    assert resp.choices[0].message.content
    assert resp.choices[0].finish_reason == "stop"
    assert resp.usage.prompt_tokens > 0 and resp.usage.completion_tokens > 0
    assert resp.model == "fast"


def test_chat_headers_name_the_target(client):
    raw = client.chat.completions.with_raw_response.create(
        model="mock/smart", messages=[{"role": "user", "content": "Hi"}]
    )
    assert raw.headers["x-switchyard-provider"] == "mock"
    assert raw.headers["x-switchyard-model"] == "mock/smart"
    assert raw.headers["x-switchyard-attempts"] == "1"
    assert float(raw.headers["x-switchyard-cost-usd"]) > 0
    assert raw.headers["x-switchyard-request-id"].startswith("req_")
    assert raw.headers["x-switchyard-decision-id"].startswith("dec_")


def test_stream_with_usage(client):
    stream = client.chat.completions.create(
        model="fast",
        messages=[{"role": "user", "content": "Hello"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, usage, finish = "", None, None
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        for choice in chunk.choices:
            text += choice.delta.content or ""
            finish = choice.finish_reason or finish
    plain = client.chat.completions.create(model="fast", messages=[{"role": "user", "content": "Hello"}])
    assert text == plain.choices[0].message.content
    assert finish == "stop"
    assert usage.completion_tokens == plain.usage.completion_tokens


def test_forced_tool_call_has_schema_valid_arguments(client):
    resp = client.chat.completions.create(
        model="fast",
        messages=[{"role": "user", "content": "Weather in Oslo?"}],
        tools=[WEATHER],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )
    call = resp.choices[0].message.tool_calls[0]
    assert resp.choices[0].finish_reason == "tool_calls"
    args = json.loads(call.function.arguments)
    assert isinstance(args["city"], str) and 1 <= args["days"] <= 5


def test_streamed_tool_call_deltas(client):
    stream = client.chat.completions.create(
        model="fast",
        messages=[{"role": "user", "content": "Weather?"}],
        tools=[WEATHER],
        tool_choice="required",
        stream=True,
    )
    name, args, finish = None, "", None
    for chunk in stream:
        for choice in chunk.choices:
            for tc in choice.delta.tool_calls or []:
                name = tc.function.name or name
                args += tc.function.arguments or ""
            finish = choice.finish_reason or finish
    assert name == "get_weather"
    assert set(json.loads(args)) == {"city", "days"}
    assert finish == "tool_calls"


def test_tool_result_turn_answers_in_text(client):
    resp = client.chat.completions.create(
        model="fast",
        messages=[
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\",\"days\":1}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp\": 3}"},
        ],
        tools=[WEATHER],
    )
    assert resp.choices[0].message.content
    assert not resp.choices[0].message.tool_calls


def test_json_mode_and_schema(client):
    resp = client.chat.completions.create(
        model="fast", messages=[{"role": "user", "content": "json please"}], response_format={"type": "json_object"}
    )
    assert isinstance(json.loads(resp.choices[0].message.content), dict)
    schema = {"type": "object", "properties": {"n": {"type": "integer"}, "tags": {"type": "array", "items": {"type": "string"}}}, "required": ["n", "tags"]}
    resp = client.chat.completions.create(
        model="fast",
        messages=[{"role": "user", "content": "structured"}],
        response_format={"type": "json_schema", "json_schema": {"name": "out", "schema": schema, "strict": True}},
    )
    value = json.loads(resp.choices[0].message.content)
    assert isinstance(value["n"], int) and isinstance(value["tags"], list)


def test_n_stop_and_max_tokens(client):
    resp = client.chat.completions.create(
        model="fast", messages=[{"role": "user", "content": "Hi"}], n=3, max_completion_tokens=5
    )
    assert [c.index for c in resp.choices] == [0, 1, 2]
    assert all(c.finish_reason == "length" for c in resp.choices)
    assert resp.usage.completion_tokens <= 15
    resp = client.chat.completions.create(model="fast", messages=[{"role": "user", "content": "Hi"}], max_tokens=3)
    assert resp.usage.completion_tokens == 3


def test_embeddings(client):
    resp = client.embeddings.create(model="embed", input=["alpha", "beta"])
    assert len(resp.data) == 2 and len(resp.data[0].embedding) == 256
    again = client.embeddings.create(model="mock/embed", input="alpha")
    assert again.data[0].embedding == resp.data[0].embedding
    b64 = client.embeddings.create(model="embed", input="alpha", encoding_format="base64")
    assert b64.data[0].embedding  # the SDK decodes base64 into floats or keeps the string
    assert resp.usage.prompt_tokens > 0


def test_models_list(client):
    ids = {m.id for m in client.models.list()}
    assert {"fast", "smart", "embed", "mock/fast", "mock/smart", "mock/embed"} <= ids


def test_errors_are_openai_shaped(client, gateway):
    with pytest.raises(openai.NotFoundError) as e:
        client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "x"}])
    assert e.value.body["code"] == "model_not_found"
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="fast", messages=[])
    assert e.value.body["param"] == "messages"
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="mock/embed", messages=[{"role": "user", "content": "x"}])
    r = requests.post(gateway + "/v1/chat/completions", data=b"\xff\xfe{not json")
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
    r = requests.post(gateway + "/v1/chat/completions", data=b"x" * (9 * 1024 * 1024))
    assert r.status_code == 413 and r.json()["error"]["code"] == "request_too_large"
    r = requests.post(gateway + "/v1/chat/completions", json={"model": 5, "messages": "no"})
    assert r.status_code == 400
    assert requests.get(gateway + "/healthz").status_code == 200


def test_upstream_429_keeps_status_and_retry_after(upstream_client):
    with pytest.raises(openai.RateLimitError) as e:
        upstream_client.chat.completions.create(model="up/rate-limited", messages=[{"role": "user", "content": "x"}])
    assert e.value.response.headers["retry-after"] == "7"
    assert e.value.response.headers["x-switchyard-attempts"] == "1"


def test_fallback_to_another_family(upstream_client):
    raw = upstream_client.chat.completions.with_raw_response.create(
        model="flaky", messages=[{"role": "user", "content": "Hello"}]
    )
    assert raw.headers["x-switchyard-provider"] == "claude"
    assert raw.headers["x-switchyard-attempts"] == "2"
    assert raw.parse().choices[0].message.content


def test_stream_cut_upstream_ends_with_error(upstream_client):
    with pytest.raises(openai.APIError):
        for _ in upstream_client.chat.completions.create(
            model="up/cut", messages=[{"role": "user", "content": "Hello"}], stream=True
        ):
            pass


def test_through_the_mock_upstream(upstream_client):
    resp = upstream_client.chat.completions.create(model="fast", messages=[{"role": "user", "content": "Hello"}])
    assert resp.choices[0].message.content
