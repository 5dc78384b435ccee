import pytest

from wsside.pattern import Pattern, PatternError, normalize_prefix, strip_prefix


@pytest.mark.parametrize(
    "pattern, path, expected",
    [
        ("/ws/chat", "/ws/chat", {}),
        ("/ws/chat", "/ws/chat/", None),  # trailing slash is significant
        ("/ws/chat", "/WS/chat", None),  # case-sensitive
        ("ws/chat", "/ws/chat", {}),  # leading slash added
        ("/ws/g?me", "/ws/game", {}),
        ("/ws/g?me", "/ws/gaame", None),
        ("/ws/*.json", "/ws/a.json", {}),
        ("/ws/*", "/ws/a/b", None),  # * stays within a segment
        ("/ws/**", "/ws", {}),
        ("/ws/**", "/ws/a/b/c", {}),
        ("/**/end", "/a/b/end", {}),
        ("/**/end", "/end", {}),
        ("/ws/room/{id}", "/ws/room/abc", {"id": "abc"}),
        ("/ws/room/{id}", "/ws/room/", None),
        ("/ws/room/{id}/{n:[0-9]+}", "/ws/room/abc/42", {"id": "abc", "n": "42"}),
        ("/ws/room/{id}/{n:[0-9]+}", "/ws/room/abc/x1", None),
        ("/ws/{a:[a-z]{2}}", "/ws/ab", {"a": "ab"}),
        ("/ws/{name}", "/ws/hello%20world", {"name": "hello world"}),
        ("/ws/{name}", "/ws/a%2Fb", {"name": "a/b"}),  # an encoded slash never splits a segment
        ("/ws/x-{id}.txt", "/ws/x-7.txt", {"id": "7"}),
        # A variable's regex holds for the decoded value the handler gets, not only for the
        # path as sent: percent-encoding does not get around it.
        ("/files/{name:[^.]+}", "/files/%2e%2e%2fetc", None),
        ("/t/{t:(?!admin$).+}", "/t/%61dmin", None),
        ("/t/{t:(?!admin$).+}", "/t/ada", {"t": "ada"}),
        ("/files/{name:[^.]+}", "/files/a%20b", {"name": "a b"}),
    ],
)
def test_match(pattern: str, path: str, expected: dict[str, str] | None) -> None:
    assert Pattern(pattern).match(path) == expected


@pytest.mark.parametrize(
    "pattern, message",
    [
        ("/ws/{id:(a|b)}", "capturing group"),
        ("/ws/{id}/{id}", "twice"),
        ("/ws/{1x}", "not a valid variable name"),
        ("/ws/{id:[}", "unbalanced|bad regex"),
        ("", "non-empty"),
    ],
)
def test_bad_patterns_say_what_is_wrong(pattern: str, message: str) -> None:
    with pytest.raises(PatternError, match=message):
        Pattern(pattern)


def test_has_variables() -> None:
    assert not Pattern("/ws/chat").has_variables
    assert Pattern("/ws/{id}").has_variables
    assert Pattern("/ws/*").has_variables


@pytest.mark.parametrize(
    "raw, normal", [("api", "/api"), ("/api/", "/api"), ("/api", "/api"), ("/", ""), ("", "")]
)
def test_prefix_normalisation_is_the_same_for_one_string_or_many(raw: str, normal: str) -> None:
    assert normalize_prefix(raw) == normal


def test_strip_prefix_on_segment_boundary() -> None:
    prefixes = ("/api", "/v2")
    assert strip_prefix("/api/ws/chat", prefixes) == "/ws/chat"
    assert strip_prefix("/v2/ws", prefixes) == "/ws"
    assert strip_prefix("/api", prefixes) == "/"
    assert strip_prefix("/apix/ws", prefixes) is None
    assert strip_prefix("/other", prefixes) is None
    assert strip_prefix("/anything", ("",)) == "/anything"
