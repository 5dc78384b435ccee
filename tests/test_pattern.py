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
        # A pattern is written as the page writes the URL; a browser percent-encodes what a
        # path may not hold as it is (non-ASCII, a space), in either case of hex digits.
        ("/ws/café", "/ws/caf%C3%A9", {}),
        ("/ws/café", "/ws/caf%c3%a9", {}),
        ("/ws/café", "/ws/café", {}),  # a client that sends the UTF-8 as it is
        ("/ws/café", "/ws/cafe", None),
        ("/ws/チャット", "/ws/%E3%83%81%E3%83%A3%E3%83%83%E3%83%88", {}),
        ("/ws/a b", "/ws/a%20b", {}),
        ("/ws/salão/{sala}", "/ws/sal%C3%A3o/%F0%9F%8D%95", {"sala": "🍕"}),
        ("/ws/salão-{id}", "/ws/sal%C3%A3o-5", {"id": "5"}),
        ("/ws/sala-{id}", "/ws/sala%2D5", None),  # only what browsers encode is decoded there
        ("/ws/caf%C3%A9", "/ws/caf%C3%A9", {}),  # written encoded: the same endpoint
        ("/ws/100%", "/ws/100%25", {}),
        ("/ws/a%2541", "/ws/a%2541", {}),  # decoded once: its literal is a%41
        ("/ws/a%2541", "/ws/a%41", None),  # which aA is not (decoding twice would say so)
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


def test_an_index_finds_a_pattern_by_its_decoded_literal_segments() -> None:
    from wsside.pattern import PatternIndex

    index = PatternIndex([(Pattern("/ws/café/{room}"), "café"), (Pattern("/ws/chat"), "chat")])
    assert [value for _, _, value in index.candidates("/ws/caf%C3%A9/r1")] == ["café"]
