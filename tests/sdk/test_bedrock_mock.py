"""The official AWS SDK (boto3) against the mock upstream's Bedrock Runtime routes.

boto3 signs every request with its own SigV4 implementation, so these tests are the cross-check
that the mock's verifier (and therefore our adapter, which passes the same verifier) agrees
with AWS's signing: a canonical-request mismatch anywhere fails every call here.
"""
import json

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import MOCK_AWS_SECRET, MOCK_KEY

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
EMBED_MODEL = "amazon.titan-embed-text-v2:0"
WEATHER = {
    "toolSpec": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "inputSchema": {
            "json": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
                "required": ["city", "unit"],
            }
        },
    }
}


def client(root, secret=MOCK_AWS_SECRET, token=None):
    return boto3.client(
        "bedrock-runtime",
        endpoint_url=root,
        region_name="us-east-1",
        aws_access_key_id=MOCK_KEY,
        aws_secret_access_key=secret,
        aws_session_token=token,
        config=Config(retries={"total_max_attempts": 1}),
    )


def hello(**extra):
    return dict(
        modelId=MODEL,
        messages=[{"role": "user", "content": [{"text": "Say hello."}]}],
        system=[{"text": "You are terse."}],
        inferenceConfig={"maxTokens": 200, "temperature": 0.2},
        **extra,
    )


@pytest.mark.parametrize("token", [None, "session-token-from-sts"])
def test_converse(mock_upstream, token):
    resp = client(mock_upstream, token=token).converse(**hello())
    message = resp["output"]["message"]
    assert message["role"] == "assistant"
    assert len(message["content"][0]["text"].split()) >= 5
    assert resp["stopReason"] == "end_turn"
    usage = resp["usage"]
    assert usage["inputTokens"] > 0 and usage["outputTokens"] > 0
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]
    assert resp["metrics"]["latencyMs"] >= 0
    assert resp["ResponseMetadata"]["RequestId"]


def test_converse_stream_matches_converse(mock_upstream):
    bedrock = client(mock_upstream)
    plain = bedrock.converse(**hello())["output"]["message"]["content"][0]["text"]
    events = list(bedrock.converse_stream(**hello())["stream"])
    kinds = [next(iter(e)) for e in events]
    assert kinds[0] == "messageStart"
    assert kinds[-2:] == ["messageStop", "metadata"]
    assert kinds.count("contentBlockDelta") > 1
    assert "contentBlockStop" in kinds
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e)
    assert text == plain
    assert events[-2]["messageStop"]["stopReason"] == "end_turn"
    assert events[-1]["metadata"]["usage"]["outputTokens"] > 0


def test_tool_use_round_trip(mock_upstream):
    bedrock = client(mock_upstream)
    tools = {"tools": [WEATHER], "toolChoice": {"tool": {"name": "get_weather"}}}
    first = bedrock.converse(**hello(toolConfig=tools))
    assert first["stopReason"] == "tool_use"
    use = next(b["toolUse"] for b in first["output"]["message"]["content"] if "toolUse" in b)
    assert use["name"] == "get_weather"
    assert isinstance(use["input"]["city"], str) and use["input"]["unit"] in ("c", "f")

    streamed = list(bedrock.converse_stream(**hello(toolConfig=tools))["stream"])
    start = next(e["contentBlockStart"]["start"]["toolUse"] for e in streamed if "contentBlockStart" in e)
    assert start["name"] == "get_weather"
    arguments = "".join(
        e["contentBlockDelta"]["delta"]["toolUse"]["input"]
        for e in streamed
        if "contentBlockDelta" in e and "toolUse" in e["contentBlockDelta"]["delta"]
    )
    assert json.loads(arguments) == use["input"]

    follow_up = hello(toolConfig={"tools": [WEATHER]})
    follow_up["messages"] += [
        first["output"]["message"],
        {
            "role": "user",
            "content": [{"toolResult": {"toolUseId": use["toolUseId"], "content": [{"json": {"temp": 4}}]}}],
        },
    ]
    second = bedrock.converse(**follow_up)
    assert second["stopReason"] == "end_turn"
    assert second["output"]["message"]["content"][0]["text"]


def test_titan_embeddings(mock_upstream):
    bedrock = client(mock_upstream)

    def embed(text):
        resp = bedrock.invoke_model(
            modelId=EMBED_MODEL,
            body=json.dumps({"inputText": text, "dimensions": 256}),
            contentType="application/json",
            accept="application/json",
        )
        return json.loads(resp["body"].read())

    one, two = embed("one"), embed("two")
    assert len(one["embedding"]) == 256
    assert one["inputTextTokenCount"] > 0
    assert one["embeddingsByType"]["float"] == one["embedding"]
    assert one["embedding"] != two["embedding"]
    assert embed("one")["embedding"] == one["embedding"]


def test_model_arn_is_encoded_and_signed(mock_upstream):
    arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0"
    resp = client(mock_upstream).converse(**{**hello(), "modelId": arn})
    assert resp["stopReason"] == "end_turn"


def test_wrong_secret_is_refused(mock_upstream):
    with pytest.raises(ClientError) as caught:
        client(mock_upstream, secret="not-the-secret").converse(**hello())
    error = caught.value.response
    assert error["Error"]["Code"] == "InvalidSignatureException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_invalid_request_is_a_validation_error(mock_upstream):
    bedrock = client(mock_upstream)
    with pytest.raises(bedrock.exceptions.ValidationException):
        bedrock.converse(modelId=MODEL, messages=[{"role": "assistant", "content": [{"text": "hi"}]}])


def test_rate_limited_is_throttling(mock_upstream):
    bedrock = client(mock_upstream)
    with pytest.raises(bedrock.exceptions.ThrottlingException) as caught:
        bedrock.converse(**{**hello(), "modelId": "rate-limited"})
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert caught.value.response["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "7"


def test_cut_stream_breaks_off_between_frames(mock_upstream):
    from urllib3.exceptions import ProtocolError

    seen = []
    with pytest.raises(ProtocolError):
        for event in client(mock_upstream).converse_stream(**{**hello(), "modelId": "cut"})["stream"]:
            seen.append(next(iter(event)))
    assert seen == ["messageStart", "contentBlockDelta", "contentBlockDelta", "contentBlockDelta"]
