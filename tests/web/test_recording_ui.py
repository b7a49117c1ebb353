"""A call's recording in real headless Chromium: the call page plays the audio the worker uploaded, and a
turn's play button seeks the player to that turn."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.api.test_livekit_upload import KEY, SECRET, all_requests, send, token


def test_the_call_page_plays_the_recording_from_a_turn(page: Page, make_server: Any) -> None:
    server = make_server(grpc_port=0, livekit_api_key=KEY, livekit_api_secret=SECRET)
    for request in all_requests():
        assert send(server, request, token()).status_code == 200
    call = httpx.get(f"{server.base_url}/api/v1/calls/AJ_cloud_upload", timeout=30).json()
    page.goto(f"{server.base_url}/calls/AJ_cloud_upload")
    page.wait_for_selector("body[data-loaded=true]", timeout=30_000)
    player = page.locator("#call-audio")
    expect(player).to_have_attribute("src", call["audio"]["url"])
    # the browser reads the ogg's length from the server (a range request)
    page.wait_for_function("document.querySelector('#call-audio').readyState >= 1", timeout=15_000)
    duration = page.evaluate("document.querySelector('#call-audio').duration")
    assert abs(duration - call["audio"]["duration_s"]) < 1.0
    turn = call["turns"][1]
    page.locator(f"#turn-{turn['index']} .play-turn").click()
    at = page.evaluate("document.querySelector('#call-audio').currentTime")
    assert abs(at - (turn["start_s"] - call["audio"]["offset_s"])) < 0.5
