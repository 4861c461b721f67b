"""Parsing recorded Binance stream frames into Ticks."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from data_ingestion.models import Tick
from data_ingestion.schemas import FrameError, NotATrade, parse_trade_frame


def test_recorded_trade_event_in_its_envelope(binance_data):
    raw = (binance_data / "stream" / "trade_event_ethusdt_2021.json").read_bytes()
    tick = parse_trade_frame(raw, received_ms=5)
    assert tick.symbol == "ETHUSDT"
    assert tick.trade_id == 705291099
    assert tick.price == Decimal("4149.74000000")
    assert tick.qty == Decimal("0.43870000")
    assert tick.trade_time_ms == 1639351062243
    assert tick.is_buyer_maker is True
    assert tick.received_ms == 5


def test_event_without_order_ids_and_as_dict_and_str(binance_data):
    env = json.loads((binance_data / "stream" / "trade_event_ethusdt_2021.json").read_text())
    data = dict(env["data"])
    del data["b"], data["a"]
    assert parse_trade_frame(data, 0).trade_id == 705291099
    assert parse_trade_frame(json.dumps(env), 0).price == Decimal("4149.74")


def test_microsecond_trade_time_is_normalised():
    ev = {"e": "trade", "E": 1, "s": "TRXUSDT", "t": 1, "p": "0.2312", "q": "1",
          "T": 1741046401271497, "m": False, "M": True}  # fmt: skip
    assert parse_trade_frame(ev, 0).trade_time_ms == 1741046401271


def test_combined_stream_session_has_no_trades_and_none_is_malformed(binance_data):
    lines = (binance_data / "stream" / "combined_stream_binanceus_2021.jsonl").read_bytes()
    kinds = 0
    for line in lines.splitlines():
        with pytest.raises(NotATrade):
            parse_trade_frame(line, 0)
        kinds += 1
    assert kinds > 300


def test_python_binance_error_dict_is_not_a_trade():
    err = {"e": "error", "type": "BinanceWebsocketUnableToConnect", "m": "Max reconnections"}
    with pytest.raises(NotATrade, match="BinanceWebsocketUnableToConnect"):
        parse_trade_frame(err, 0)


@pytest.mark.parametrize(
    ("frame", "why"),
    [
        (b'{"stream":"btcusdt@trade","data":{"e":"trade","s":"BTCUSDT"', "not JSON"),
        (b"[1,2]", "not a JSON object"),
        (b'{"e":"trade","s":"BTCUSDT","t":1,"p":"x","q":"1","T":1,"m":true}', "bad price"),
        (b'{"e":"trade","s":"BTCUSDT","t":1,"p":"1","q":"1","T":1}', "without field 'm'"),
        (b'{"e":"trade","s":"BTCUSDT","t":"1","p":"1","q":"1","T":1,"m":true}', "wrong type"),
        (b'{"e":"trade","s":"BTCUSDT","t":1,"p":1.5,"q":"1","T":1,"m":true}', "not a string"),
        (b'{"e":"trade","s":"BTCUSDT","t":1,"p":"-1","q":"1","T":1,"m":true}', "non-positive"),
        (b'{"e":"trade","s":"BTCUSDT","t":1,"p":"NaN","q":"1","T":1,"m":true}', "non-positive"),
    ],
)
def test_malformed_frames_raise_frame_error(frame, why):
    with pytest.raises(FrameError, match=why) as info:
        parse_trade_frame(frame, 0)
    assert not isinstance(info.value, NotATrade)


def test_parsed_tick_equals_one_built_by_keyword_and_is_immutable(binance_data):
    raw = (binance_data / "stream" / "trade_event_ethusdt_2021.json").read_bytes()
    tick = parse_trade_frame(raw, received_ms=5)
    built = Tick(
        symbol="ETHUSDT",
        trade_id=705291099,
        price=Decimal("4149.74"),
        qty=Decimal("0.4387"),
        trade_time_ms=1639351062243,
        is_buyer_maker=True,
        received_ms=5,
    )
    assert type(tick) is Tick
    assert tick == built and tick.count == built.count == 1
    assert repr(tick).startswith("Tick(symbol='ETHUSDT', trade_id=705291099")
    with pytest.raises(AttributeError):
        tick.price = Decimal(1)  # type: ignore[misc]
    assert Tick("X", 1, Decimal(1), Decimal(1), 2, False, count=3).count == 3


def _envelope(event: bytes) -> bytes:
    return b'{"stream":"btcusdt@trade","data":' + event + b"}"


@pytest.mark.parametrize(
    ("event", "why"),
    [
        (b'{"e":"trade","s":"BTCUSDT","t":1,"p":"x","q":"1","T":1,"m":true}', "bad price"),
        (b'{"e":"trade","s":"BTCUSDT","t":1,"p":"1","q":"1","T":1}', "without field 'm'"),
        (b'{"e":"trade","s":"BTCUSDT","t":"1","p":"1","q":"1","T":1,"m":true}', "wrong type"),
        (b'{"e":"trade","s":"BTCUSDT","t":1.0,"p":"1","q":"1","T":1,"m":true}', "wrong type"),
        (b'{"e":"trade","s":"","t":1,"p":"1","q":"1","T":1,"m":true}', "wrong type"),
        (b'{"e":"trade","s":"BTCUSDT","t":1,"p":"1","q":"1","T":1,"m":1}', "wrong type"),
        (b'{"e":"trade","s":"BTCUSDT","t":1,"p":1.5,"q":"1","T":1,"m":true}', "not a string"),
        (b'{"e":"trade","s":"BTCUSDT","t":1,"p":"-1","q":"1","T":1,"m":true}', "non-positive"),
        (b'{"e":"trade","s":"BTCUSDT","t":1,"p":"1","q":"0","T":1,"m":true}', "non-positive"),
        (b'{"e":"trade","s":"BTCUSDT","t":1,"p":"Infinity","q":"1","T":1,"m":true}', "non-pos"),
        (b'{"e":"trade","s":"BTCUSDT","t":1,"p":"NaN","q":"1","T":1,"m":true}', "non-positive"),
    ],
)
def test_malformed_events_in_an_envelope_raise_the_same_errors(event, why):
    # Combined frames take the msgspec road; whatever it rejects must get the same error.
    for frame in (event, _envelope(event)):
        with pytest.raises(FrameError, match=why) as info:
            parse_trade_frame(frame, 0)
        assert not isinstance(info.value, NotATrade)


def test_other_events_in_an_envelope_are_not_trades():
    agg = b'{"e":"aggTrade","s":"BTCUSDT","a":1,"p":"1","q":"1","f":1,"l":1,"T":1,"m":true}'
    with pytest.raises(NotATrade):
        parse_trade_frame(_envelope(agg), 0)
    kline = b'{"e":"kline","E":1,"s":"BTCUSDT","k":{"t":0}}'
    with pytest.raises(NotATrade):
        parse_trade_frame(_envelope(kline), 0)


@pytest.mark.parametrize(
    "event",
    [
        {"e": "trade", "E": 2, "s": "BTCUSDT", "t": 9_007_199_254_740_993, "p": "65818.00000000",
         "q": "0.00000001", "T": 1781505507617, "m": False, "M": True},
        {"e": "trade", "s": "TRXUSDT", "t": 1, "p": "0.2312", "q": "12345678.9",
         "T": 1741046401271497, "m": True},
        {"e": "trade", "s": "ETHBTC", "t": 5, "p": "1E-8", "q": "100", "T": 0, "m": True,
         "X": "MARKET"},
    ],
)  # fmt: skip
def test_both_roads_give_the_same_tick(event):
    frame = json.dumps({"stream": "x@trade", "data": event})
    fast = parse_trade_frame(frame.encode(), 7)
    assert fast == parse_trade_frame(json.loads(frame), 7)  # the dict road
    for value, text in ((fast.price, event["p"]), (fast.qty, event["q"])):
        assert value.as_tuple() == Decimal(text).as_tuple()  # digits and exponent kept
