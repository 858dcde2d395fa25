"""Wire fidelity of the mock upstream's Cloudflare Workers AI formats: the official `openai` SDK
drives the OpenAI-compatible endpoints, the official `cloudflare` SDK (when installed) drives the
native `ai.run`, and plain HTTP checks the envelope, stream and error shapes Cloudflare
documents for `/ai/run/{model}`."""
import base64
import json
import struct

import openai
import pytest
import requests

from conftest import MOCK_KEY

ACCOUNT = "0123456789abcdef0123456789abcdef"
CHAT_MODEL = "@cf/meta/llama-3.1-8b-instruct"
EMBED_MODEL = "@cf/baai/bge-base-en-v1.5"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name"},
                "unit": {"type": "string", "description": "c or f", "enum": ["c", "f"]},
            },
            "required": ["city", "unit"],
        },
    },
}
HELLO = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Say hello."}]


def compat_client(root, key=MOCK_KEY):
    return openai.OpenAI(
        base_url=f"{root}/client/v4/accounts/{ACCOUNT}/ai/v1", api_key=key, max_retries=0
    )


def run_url(root, model):
    return f"{root}/client/v4/accounts/{ACCOUNT}/ai/run/{model}"


def auth(key=MOCK_KEY, **extra):
    return {"authorization": f"Bearer {key}", **extra}


def sse_data(body: str):
    return [frame[len("data: "):] for frame in body.split("\n\n") if frame.startswith("data: ")]


def test_openai_sdk_chat_and_stream_on_the_compatible_endpoint(mock_upstream):
    client = compat_client(mock_upstream)
    resp = client.chat.completions.create(model=CHAT_MODEL, messages=HELLO, max_tokens=200)
    assert resp.object == "chat.completion" and resp.model == CHAT_MODEL
    assert resp.choices[0].message.content and resp.choices[0].finish_reason == "stop"
    assert resp.usage.prompt_tokens > 0 and resp.usage.completion_tokens > 0
    chunks = list(client.chat.completions.create(
        model=CHAT_MODEL, messages=HELLO, max_tokens=200, stream=True,
        stream_options={"include_usage": True},
    ))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == resp.choices[0].message.content
    assert chunks[-1].usage.completion_tokens == resp.usage.completion_tokens


def test_openai_sdk_tools_and_embeddings_on_the_compatible_endpoint(mock_upstream):
    client = compat_client(mock_upstream)
    resp = client.chat.completions.create(
        model=CHAT_MODEL, messages=HELLO, tools=[WEATHER],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )
    call = resp.choices[0].message.tool_calls[0]
    args = json.loads(call.function.arguments)
    assert call.id and call.function.name == "get_weather"
    assert isinstance(args["city"], str) and args["unit"] in ("c", "f")
    assert resp.choices[0].finish_reason == "tool_calls"
    # The SDK asks for base64 unless told otherwise, and decodes it itself.
    emb = client.embeddings.create(model=EMBED_MODEL, input=["one", "two"])
    assert len(emb.data) == 2 and len(emb.data[0].embedding) == 256
    raw = client.embeddings.create(model=EMBED_MODEL, input="one", encoding_format="base64")
    floats = struct.unpack("<256f", base64.b64decode(raw.data[0].embedding))
    assert pytest.approx(list(floats), rel=1e-6) == emb.data[0].embedding


def test_openai_sdk_sees_the_compatible_endpoints_errors(mock_upstream):
    with pytest.raises(openai.AuthenticationError):
        compat_client(mock_upstream, key="wrong").chat.completions.create(model=CHAT_MODEL, messages=HELLO)
    with pytest.raises(openai.RateLimitError):
        compat_client(mock_upstream).chat.completions.create(
            model=CHAT_MODEL, messages=HELLO, extra_headers={"x-mock-scenario": "status=429"}
        )


def test_native_run_answers_in_the_documented_envelope(mock_upstream):
    r = requests.post(run_url(mock_upstream, CHAT_MODEL), headers=auth(), json={"messages": HELLO})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"result", "success", "errors", "messages"}
    assert body["success"] is True and body["errors"] == [] and body["messages"] == []
    result = body["result"]
    assert isinstance(result["response"], str) and result["response"]
    usage = result["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    prompt = requests.post(run_url(mock_upstream, CHAT_MODEL), headers=auth(),
                           json={"prompt": "Where did Hello World come from?", "max_tokens": 3})
    assert prompt.json()["result"]["usage"]["completion_tokens"] == 3


def test_native_stream_is_sse_with_padding_usage_and_done(mock_upstream):
    r = requests.post(run_url(mock_upstream, CHAT_MODEL), headers=auth(),
                      json={"messages": HELLO, "stream": True}, stream=True)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    data = sse_data(r.text)
    assert data[-1] == "[DONE]"
    events = [json.loads(d) for d in data[:-1]]
    assert all(isinstance(e["response"], str) for e in events)
    assert all("p" in e for e in events if e["response"])
    assert events[-1]["usage"]["completion_tokens"] > 0
    whole = requests.post(run_url(mock_upstream, CHAT_MODEL), headers=auth(), json={"messages": HELLO})
    assert "".join(e["response"] for e in events) == whole.json()["result"]["response"]


def test_native_tools_json_mode_and_embeddings(mock_upstream):
    legacy_tool = {"name": "get_weather", "description": WEATHER["function"]["description"],
                   "parameters": WEATHER["function"]["parameters"]}
    r = requests.post(run_url(mock_upstream, CHAT_MODEL), headers=auth(),
                      json={"messages": HELLO, "tools": [legacy_tool]})
    call = r.json()["result"]["tool_calls"][0]
    assert call["name"] == "get_weather" and isinstance(call["arguments"], dict)
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    r = requests.post(run_url(mock_upstream, CHAT_MODEL), headers=auth(), json={
        "messages": HELLO, "response_format": {"type": "json_schema", "json_schema": schema}})
    assert isinstance(r.json()["result"]["response"]["name"], str)
    r = requests.post(run_url(mock_upstream, EMBED_MODEL), headers=auth(), json={"text": ["a", "b"]})
    result = r.json()["result"]
    assert result["shape"] == [2, 256] and len(result["data"]) == 2


def test_native_errors_use_cloudflare_codes(mock_upstream):
    def errors(resp):
        body = resp.json()
        assert body["success"] is False and body["result"] is None
        return [e["code"] for e in body["errors"]]

    bad_key = requests.post(run_url(mock_upstream, CHAT_MODEL), headers=auth("wrong"), json={"prompt": "x"})
    assert bad_key.status_code == 401 and errors(bad_key) == [10000]
    both = requests.post(run_url(mock_upstream, CHAT_MODEL), headers=auth(),
                         json={"prompt": "x", "messages": HELLO})
    assert both.status_code == 400 and errors(both) == [5006]
    hot = requests.post(run_url(mock_upstream, CHAT_MODEL), headers=auth(), json={"prompt": "x", "temperature": 7})
    assert hot.status_code == 400 and "temperature" in hot.json()["errors"][0]["message"]
    limited = requests.post(run_url(mock_upstream, CHAT_MODEL),
                            headers=auth(**{"x-mock-scenario": "status=429,retry_after=2"}),
                            json={"prompt": "x"})
    assert limited.status_code == 429 and errors(limited) == [3040]
    assert limited.headers["retry-after"] == "2"


def test_cloudflare_sdk_runs_the_native_endpoint(mock_upstream):
    cloudflare = pytest.importorskip("cloudflare")
    client = cloudflare.Cloudflare(
        api_token=MOCK_KEY, base_url=f"{mock_upstream}/client/v4", max_retries=0
    )
    out = client.ai.run(CHAT_MODEL, account_id=ACCOUNT, messages=HELLO, max_tokens=200)
    out = out if isinstance(out, dict) else out.to_dict()
    assert isinstance(out["response"], str) and out["usage"]["prompt_tokens"] > 0
    tool = {"name": "get_weather", "description": WEATHER["function"]["description"],
            "parameters": WEATHER["function"]["parameters"]}
    out = client.ai.run(CHAT_MODEL, account_id=ACCOUNT, messages=HELLO, tools=[tool])
    out = out if isinstance(out, dict) else out.to_dict()
    assert out["tool_calls"][0]["name"] == "get_weather"
    emb = client.ai.run(EMBED_MODEL, account_id=ACCOUNT, text=["a", "b", "c"])
    emb = emb if isinstance(emb, dict) else emb.to_dict()
    assert emb["shape"] == [3, 256]
    with pytest.raises(cloudflare.AuthenticationError):
        cloudflare.Cloudflare(api_token="wrong", base_url=f"{mock_upstream}/client/v4",
                              max_retries=0).ai.run(CHAT_MODEL, account_id=ACCOUNT, prompt="x")
    with pytest.raises(cloudflare.BadRequestError):
        client.ai.run(CHAT_MODEL, account_id=ACCOUNT, prompt="x", temperature=9)
