"""The official `anthropic` SDK against the real gateway binary on loopback."""
import anthropic
import pytest

TOOL = {
    "name": "lookup",
    "description": "Look a thing up",
    "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
}


@pytest.fixture
def client(gateway):
    return anthropic.Anthropic(base_url=gateway, api_key="unused", max_retries=0)


def test_message(client):
    msg = client.messages.create(
        model="fast", max_tokens=200, system="Be brief.", messages=[{"role": "user", "content": "Hello"}]
    )
    assert msg.type == "message" and msg.role == "assistant"
    assert msg.content[0].type == "text" and msg.content[0].text
    assert msg.stop_reason == "end_turn"
    assert msg.usage.input_tokens > 0 and msg.usage.output_tokens > 0


def test_stream_events_and_final_message(client):
    kinds = []
    with client.messages.stream(
        model="smart", max_tokens=200, messages=[{"role": "user", "content": "Hello"}]
    ) as stream:
        for event in stream:
            kinds.append(event.type)
        final = stream.get_final_message()
    plain = client.messages.create(model="smart", max_tokens=200, messages=[{"role": "user", "content": "Hello"}])
    assert kinds[0] == "message_start"
    assert {"content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop"} <= set(kinds)
    assert final.content[0].text == plain.content[0].text
    assert final.usage.output_tokens == plain.usage.output_tokens


def test_tool_use_round_trip(client):
    msg = client.messages.create(
        model="fast",
        max_tokens=200,
        tools=[TOOL],
        tool_choice={"type": "tool", "name": "lookup"},
        messages=[{"role": "user", "content": "Find x"}],
    )
    assert msg.stop_reason == "tool_use"
    use = next(b for b in msg.content if b.type == "tool_use")
    assert isinstance(use.input["q"], str)
    follow = client.messages.create(
        model="fast",
        max_tokens=200,
        tools=[TOOL],
        messages=[
            {"role": "user", "content": "Find x"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": use.id, "name": "lookup", "input": use.input}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "found"}]},
        ],
    )
    assert follow.stop_reason == "end_turn" and follow.content[0].text


def test_streamed_tool_use(client):
    with client.messages.stream(
        model="fast", max_tokens=200, tools=[TOOL], tool_choice={"type": "any"},
        messages=[{"role": "user", "content": "Find x"}],
    ) as stream:
        final = stream.get_final_message()
    use = next(b for b in final.content if b.type == "tool_use")
    assert isinstance(use.input["q"], str)
    assert final.stop_reason == "tool_use"


def test_errors_are_anthropic_shaped(client):
    with pytest.raises(anthropic.NotFoundError) as e:
        client.messages.create(model="nope", max_tokens=10, messages=[{"role": "user", "content": "x"}])
    assert e.value.body["type"] == "error" and e.value.body["error"]["type"] == "not_found_error"
    with pytest.raises(anthropic.BadRequestError) as e:
        client.messages.create(model="fast", max_tokens=10, messages=[])
    assert e.value.body["error"]["type"] == "invalid_request_error"


def test_upstream_429_on_the_anthropic_door(gateway_to_mock):
    client = anthropic.Anthropic(base_url=gateway_to_mock.root, api_key="unused", max_retries=0)
    with pytest.raises(anthropic.RateLimitError) as e:
        client.messages.create(model="claude/rate-limited", max_tokens=10, messages=[{"role": "user", "content": "x"}])
    assert e.value.response.headers["retry-after"] == "7"
