"""The official Google Gen AI SDK (google-genai) against the mock upstream's Gemini API: plain
and streamed generation, a function-calling round trip, JSON with a response schema,
embeddings, and Google's error shapes (a scripted 429, a wrong key)."""
import pydantic
import pytest
from google import genai
from google.genai import errors, types

from conftest import MOCK_KEY

MODEL = "gemini-2.5-flash"

WEATHER = types.FunctionDeclaration(
    name="get_weather",
    description="Current weather for a city",
    parameters=types.Schema(
        type=types.Type.OBJECT,
        properties={
            "city": types.Schema(type=types.Type.STRING),
            "unit": types.Schema(type=types.Type.STRING, enum=["c", "f"]),
        },
        required=["city", "unit"],
    ),
)


def client_for(root: str, key: str = MOCK_KEY) -> genai.Client:
    # The mock serves v1beta, the version Switchyard's adapter calls; this SDK defaults to v1.
    return genai.Client(api_key=key, http_options=types.HttpOptions(base_url=root, api_version="v1beta"))


@pytest.fixture(scope="module")
def client(mock_upstream):
    return client_for(mock_upstream)


def test_generate_content(client):
    resp = client.models.generate_content(
        model=MODEL,
        contents="Say hello.",
        config=types.GenerateContentConfig(system_instruction="You are terse.", temperature=0.3),
    )
    assert len(resp.text.split()) >= 5
    assert resp.candidates[0].finish_reason == types.FinishReason.STOP
    usage = resp.usage_metadata
    assert usage.prompt_token_count > 0 and usage.candidates_token_count > 0
    assert usage.total_token_count == usage.prompt_token_count + usage.candidates_token_count
    assert resp.model_version == MODEL and resp.response_id


def test_generate_content_stream_matches_plain(client):
    plain = client.models.generate_content(model=MODEL, contents="Tell me a story.")
    chunks = list(client.models.generate_content_stream(model=MODEL, contents="Tell me a story."))
    assert len(chunks) > 1
    assert "".join(c.text or "" for c in chunks) == plain.text
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    assert chunks[-1].usage_metadata.candidates_token_count == plain.usage_metadata.candidates_token_count


def test_max_output_tokens_stops_with_max_tokens(client):
    resp = client.models.generate_content(
        model=MODEL, contents="Go on.", config=types.GenerateContentConfig(max_output_tokens=3)
    )
    assert resp.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS
    assert resp.usage_metadata.candidates_token_count <= 3


def test_function_calling_round_trip(client):
    tools = [types.Tool(function_declarations=[WEATHER])]
    question = types.Content(role="user", parts=[types.Part.from_text(text="Weather in Oslo?")])
    forced = types.GenerateContentConfig(
        tools=tools,
        tool_config=types.ToolConfig(
            function_calling_config=types.FunctionCallingConfig(
                mode=types.FunctionCallingConfigMode.ANY, allowed_function_names=["get_weather"]
            )
        ),
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )
    first = client.models.generate_content(model=MODEL, contents=[question], config=forced)
    call = first.function_calls[0]
    assert call.name == "get_weather"
    assert isinstance(call.args["city"], str) and call.args["unit"] in ("c", "f")
    answer = types.Content(
        role="user",
        parts=[types.Part.from_function_response(name=call.name, response={"temp_c": 4})],
    )
    second = client.models.generate_content(
        model=MODEL,
        contents=[question, first.candidates[0].content, answer],
        config=types.GenerateContentConfig(tools=tools),
    )
    assert not second.function_calls
    assert second.text


def test_function_response_without_its_call_is_refused(client):
    orphan = types.Content(
        role="user", parts=[types.Part.from_function_response(name="get_weather", response={"x": 1})]
    )
    with pytest.raises(errors.ClientError) as e:
        client.models.generate_content(model=MODEL, contents=[orphan])
    assert e.value.code == 400 and e.value.status == "INVALID_ARGUMENT"


class Person(pydantic.BaseModel):
    name: str
    age: int


def test_json_mode_with_response_schema(client):
    resp = client.models.generate_content(
        model=MODEL,
        contents="Invent a person.",
        config=types.GenerateContentConfig(response_mime_type="application/json", response_schema=Person),
    )
    assert isinstance(resp.parsed, Person)
    by_json_schema = client.models.generate_content(
        model=MODEL,
        contents="Invent a person.",
        config=types.GenerateContentConfig(
            response_mime_type="application/json",
            response_json_schema=Person.model_json_schema(),
        ),
    )
    assert Person.model_validate_json(by_json_schema.text)


def test_embeddings(client):
    resp = client.models.embed_content(
        model="gemini-embedding-001",
        contents=["one", "two"],
        config=types.EmbedContentConfig(output_dimensionality=64, task_type="SEMANTIC_SIMILARITY"),
    )
    assert [len(e.values) for e in resp.embeddings] == [64, 64]
    assert resp.embeddings[0].values != resp.embeddings[1].values
    again = client.models.embed_content(
        model="gemini-embedding-001",
        contents=["one", "two"],
        config=types.EmbedContentConfig(output_dimensionality=64, task_type="SEMANTIC_SIMILARITY"),
    )
    assert again.embeddings[0].values == resp.embeddings[0].values


def test_scripted_429_raises_the_sdk_error(client):
    with pytest.raises(errors.ClientError) as e:
        client.models.generate_content(model="rate-limited", contents="Hi")
    assert e.value.code == 429
    assert e.value.status == "RESOURCE_EXHAUSTED"
    retry = [d for d in e.value.details["error"]["details"] if d["@type"].endswith("google.rpc.RetryInfo")]
    assert retry and retry[0]["retryDelay"] == "7s"


def test_wrong_key_is_api_key_invalid(mock_upstream):
    wrong = client_for(mock_upstream, key="not-the-key")
    with pytest.raises(errors.ClientError) as e:
        wrong.models.generate_content(model=MODEL, contents="Hi")
    assert e.value.code == 400
    assert e.value.details["error"]["details"][0]["reason"] == "API_KEY_INVALID"


def test_cut_stream_is_not_a_silent_success(client):
    chunks = []
    with pytest.raises(Exception) as e:
        for chunk in client.models.generate_content_stream(model="cut", contents="Tell me a story."):
            chunks.append(chunk)
    assert not isinstance(e.value, AssertionError)
    assert len(chunks) <= 4
    assert all(c.candidates[0].finish_reason is None for c in chunks)
