"""The base64 route decoder: real segments, damaged ones, and a round trip."""

from __future__ import annotations

import base64

from hypothesis import given
from hypothesis import strategies as st

from logscope.route import decode_route, encode_route, route_from_url

LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
HOST = st.lists(LABEL, min_size=1, max_size=4).map(".".join)


def test_seed_document_segment_decodes():
    route = decode_route("c3RldmVuLmxhYi9odHRwcy8xMC40OC4zNi4yMTUvODQ0Mw")
    assert (route.domain, route.scheme, route.host, route.port) == (
        "steven.lab",
        "https",
        "10.48.36.215",
        8443,
    )
    assert route.ok


def test_transcription_damaged_segment_is_flagged_not_raised():
    route = decode_route("c3RldmVuLmxhYi9odHRwcy9jdWNTLnN0ZXZlbi5sYWIVODQ0Mw")
    assert not route.ok
    assert route.host is None and route.port is None
    assert route.domain == "steven.lab" and route.scheme == "https"
    assert "control" in route.error


def test_url_safe_alphabet_and_padding_are_accepted():
    text = "ex.com/https/h?>~.ex.com/8443"
    urlsafe = base64.urlsafe_b64encode(text.encode()).decode()
    assert "=" in urlsafe or "-" in urlsafe or "_" in urlsafe
    route = decode_route(urlsafe)
    assert route.host == "h?>~.ex.com" and route.port == 8443


def test_not_base64_and_wrong_shape_give_errors():
    assert "not base64" in decode_route("!!!!not-base64!!!!").error
    assert "parts" in decode_route(base64.b64encode(b"only/two").decode()).error
    assert "port" in decode_route(encode_route("d", "https", "h", "80x")).error


def test_route_comes_only_from_an_absolute_client_url():
    url = "http://vcs_control.steven.lab:8443/c3RldmVuLmxhYi9odHRwcy8xMC40OC4zNi4yMTUvODQ0Mw/cucm-uds/user"
    assert route_from_url(url).host == "10.48.36.215"
    assert route_from_url("/cucm-uds/user/emusk/devices") is None
    assert route_from_url("http://vcs_control:8443/short/path") is None
    assert route_from_url(None) is None


@given(HOST, st.sampled_from(["https", "http"]), HOST, st.integers(1, 65535))
def test_encode_then_decode_round_trips(domain, scheme, host, port):
    route = decode_route(encode_route(domain, scheme, host, port))
    assert (route.domain, route.scheme, route.host, route.port) == (domain, scheme, host, port)
    assert route.ok


@given(st.text(max_size=80))
def test_decoder_never_raises(segment):
    decode_route(segment)
