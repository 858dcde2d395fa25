"""Wire fidelity of the mock upstream's OpenAI and Anthropic formats: the official SDKs parse
what the mock sends, and the mock refuses what the real APIs refuse."""
import base64

import anthropic
import requests
import openai
import pytest

from conftest import MOCK_KEY


def test_openai_sdk_parses_the_mock(mock_upstream):
    client = openai.OpenAI(base_url=mock_upstream + "/v1", api_key=MOCK_KEY, max_retries=0)
    resp = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}])
    assert resp.object == "chat.completion" and resp.choices[0].message.content
    chunks = list(client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}], stream=True,
        stream_options={"include_usage": True},
    ))
    assert chunks[-1].usage.total_tokens > 0
    emb = client.embeddings.create(model="text-embedding-3-small", input="x", encoding_format="base64")
    assert len(base64.b64decode(emb.data[0].embedding)) == 256 * 4


def test_openai_mock_refuses_what_openai_refuses(mock_upstream):
    bad_key = openai.OpenAI(base_url=mock_upstream + "/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad_key.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    r = requests.post(
        mock_upstream + "/v1/chat/completions",
        headers={"authorization": f"Bearer {MOCK_KEY}"},
        json={"model": "m", "messages": [{"role": "user", "content": "x"}], "bogus_param": 1},
    )
    assert r.status_code == 400 and "bogus_param" in r.json()["error"]["message"]


def test_azure_sdk_parses_the_mock(mock_upstream):
    client = openai.AzureOpenAI(
        azure_endpoint=mock_upstream, api_key=MOCK_KEY, api_version="2024-10-21", max_retries=0
    )
    resp = client.chat.completions.create(model="my-deployment", messages=[{"role": "user", "content": "Hi"}])
    assert resp.model == "my-deployment"


def test_anthropic_sdk_parses_the_mock(mock_upstream):
    client = anthropic.Anthropic(base_url=mock_upstream, api_key=MOCK_KEY, max_retries=0)
    msg = client.messages.create(model="claude-haiku-4-5", max_tokens=100, messages=[{"role": "user", "content": "Hi"}])
    assert msg.content[0].text
    with client.messages.stream(model="claude-haiku-4-5", max_tokens=100, messages=[{"role": "user", "content": "Hi"}]) as s:
        final = s.get_final_message()
    assert final.content[0].text == msg.content[0].text
    assert final.usage.input_tokens == msg.usage.input_tokens


def test_anthropic_mock_refuses_what_anthropic_refuses(mock_upstream):
    headers = {"x-api-key": MOCK_KEY, "anthropic-version": "2023-06-01"}
    no_max = requests.post(mock_upstream + "/v1/messages", headers=headers,
                        json={"model": "c", "messages": [{"role": "user", "content": "x"}]})
    assert no_max.status_code == 400 and no_max.json()["type"] == "error"
    system_role = requests.post(mock_upstream + "/v1/messages", headers=headers,
                             json={"model": "c", "max_tokens": 5, "messages": [{"role": "system", "content": "x"}]})
    assert system_role.status_code == 400
    no_version = requests.post(mock_upstream + "/v1/messages", headers={"x-api-key": MOCK_KEY},
                            json={"model": "c", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]})
    assert no_version.status_code == 400
