"""The official `openai` SDK's Responses API (`client.responses`) against the real gateway, through
the OpenAI, Anthropic, Bedrock and Gemini families of the mock upstream. Stateless: every turn
sends the whole conversation as input items; answers say `store: false`."""
import json

import openai
import pytest
from openai.types.responses import Response

FAMILIES = [
    "up/gpt-4o-mini",
    "claude/claude-haiku-4-5",
    "aws/anthropic.claude-3-haiku-20240307-v1:0",
    "google/gemini-2.5-flash",
]

LOOKUP = {
    "type": "function",
    "name": "lookup",
    "description": "Look a term up",
    "parameters": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
}

CITY = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "population": {"type": "integer"}},
    "required": ["name", "population"],
    "additionalProperties": False,
}

LIFECYCLE = ["response.created", "response.in_progress"]
TEXT_OPENS = ["response.output_item.added", "response.content_part.added"]
TEXT_CLOSES = ["response.output_text.done", "response.content_part.done", "response.output_item.done"]


@pytest.fixture
def client(gateway_to_mock):
    return openai.OpenAI(base_url=gateway_to_mock.root + "/v1", api_key="unused", max_retries=0)


def create(client, **params):
    """A whole answer, validated against the SDK's `Response` model (the SDK itself only
    constructs it), with the answer's headers and raw JSON."""
    raw = client.responses.with_raw_response.create(**params)
    body = raw.http_response.json()
    return Response.model_validate(body), raw.headers, body


def numbered(events):
    """The events' types, checking that they are numbered 0, 1, 2, …"""
    assert [e.sequence_number for e in events] == list(range(len(events)))
    return [e.type for e in events]


@pytest.mark.parametrize("model", FAMILIES)
def test_plain_and_streamed_answers_through_each_family(client, model):
    ask = dict(model=model, input="Hello", instructions="Be brief.", metadata={"team": "agents"})
    resp, headers, body = create(client, **ask)
    assert headers["x-switchyard-model"] == model
    assert resp.id.startswith("resp_") and resp.object == "response" and resp.status == "completed"
    assert resp.model == model and resp.instructions == "Be brief." and resp.metadata == {"team": "agents"}
    assert resp.output[0].type == "message" and resp.output[0].id.startswith("msg_") and resp.output_text
    assert body["store"] is False and resp.error is None
    usage = resp.usage
    assert usage.input_tokens > 0 and usage.output_tokens > 0
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens

    events = list(client.responses.create(**ask, stream=True))
    types = numbered(events)
    assert types[:4] == LIFECYCLE + TEXT_OPENS
    assert types[-4:] == TEXT_CLOSES + ["response.completed"]
    assert set(types[4:-4]) == {"response.output_text.delta"}
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == resp.output_text

    with client.responses.stream(**ask) as stream:
        for _ in stream:
            pass
        final = stream.get_final_response()
    assert final.output_text == resp.output_text and final.status == "completed"
    assert final.usage.output_tokens == usage.output_tokens and final.usage.input_tokens == usage.input_tokens


@pytest.mark.parametrize("model", FAMILIES)
def test_a_function_tool_then_its_output_through_each_family(client, model):
    asked = [{"role": "user", "content": [{"type": "input_text", "text": "find"}]}]
    first, _, _ = create(
        client, model=model, input=asked, tools=[LOOKUP], tool_choice={"type": "function", "name": "lookup"}
    )
    calls = [item for item in first.output if item.type == "function_call"]
    assert len(calls) == 1 and calls[0].name == "lookup" and calls[0].id.startswith("fc_")
    assert isinstance(json.loads(calls[0].arguments)["q"], str)
    assert first.tool_choice.name == "lookup" and first.tools[0].name == "lookup"

    # The next turn sends the prior output items back, then the function's output.
    output = {"type": "function_call_output", "call_id": calls[0].call_id, "output": "found it"}
    follow, _, _ = create(client, model=model, tools=[LOOKUP], input=asked + first.output + [output])
    assert follow.status == "completed" and follow.output_text
    assert not [item for item in follow.output if item.type == "function_call"]

    with client.responses.stream(model=model, input=asked, tools=[LOOKUP], tool_choice="required") as stream:
        types = numbered(list(stream))
        final = stream.get_final_response()
    assert "response.function_call_arguments.delta" in types and "response.function_call_arguments.done" in types
    streamed = [item for item in final.output if item.type == "function_call"]
    assert len(streamed) == 1 and isinstance(json.loads(streamed[0].arguments)["q"], str)


@pytest.mark.parametrize("model", FAMILIES)
def test_a_json_schema_text_format_through_each_family(client, model):
    fmt = {"type": "json_schema", "name": "city", "schema": CITY, "strict": True}
    resp, _, _ = create(client, model=model, input="A city, please", text={"format": fmt})
    city = json.loads(resp.output_text)
    assert isinstance(city["name"], str) and isinstance(city["population"], int)
    assert resp.text.format.type == "json_schema" and resp.text.format.name == "city"


def test_an_answer_cut_at_max_output_tokens_is_incomplete(client):
    resp, _, _ = create(client, model="up/gpt-4o-mini", input="Tell me a long story", max_output_tokens=3)
    assert resp.status == "incomplete" and resp.incomplete_details.reason == "max_output_tokens"
    assert resp.usage.output_tokens <= 3
    events = list(client.responses.create(model="up/gpt-4o-mini", input="Tell me a long story", max_output_tokens=3, stream=True))
    assert numbered(events)[-1] == "response.incomplete"


def test_metadata_route_class_reaches_routing(client):
    _, headers, _ = create(client, model="up/gpt-4o-mini", input="Hi", metadata={"route_class": "latency-critical"})
    assert headers["x-switchyard-route-class"] == "latency-critical"


def test_a_stream_that_fails_part_way_ends_failed(client):
    events = list(client.responses.create(model="up/cut", input="Tell me a long story", stream=True))
    types = numbered(events)
    assert types[:2] == LIFECYCLE and types[-1] == "response.failed"
    assert "response.completed" not in types
    failed = events[-1].response
    assert failed.status == "failed" and failed.error.code == "server_error" and failed.error.message


def test_state_is_refused_as_not_supported_yet(client):
    with pytest.raises(openai.BadRequestError) as e:
        client.responses.create(model="up/gpt-4o-mini", input="Hi", previous_response_id="resp_123")
    assert e.value.param == "previous_response_id" and "not supported yet" in e.value.message
    with pytest.raises(openai.BadRequestError) as e:
        client.responses.create(model="up/gpt-4o-mini", input=[{"type": "reasoning", "id": "rs_1", "summary": []}])
    assert e.value.param == "input[0].type"


def test_the_door_is_off_unless_configured(gateway):
    off = openai.OpenAI(base_url=gateway + "/v1", api_key="unused", max_retries=0)
    with pytest.raises(openai.NotFoundError) as e:
        off.responses.create(model="fast", input="Hi")
    assert e.value.code == "door_disabled" and "[responses] enabled = true" in e.value.message
