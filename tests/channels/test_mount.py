"""Mounted on the real app: ``app.include_router(channels.routes.router)``; the dialogue engine is the
app's ``RasaClient`` talking to a stand-in Rasa REST webhook over HTTP, with the channel in metadata."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from typing import ClassVar

from fastapi.testclient import TestClient

from channels.routes import router
from taxbot.app import create_app
from taxbot.services import Services
from taxbot.settings import Settings
from tests.channels.conftest import fixture_xml, signed_query, wechat_settings


class RasaRest(BaseHTTPRequestHandler):
    bodies: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        RasaRest.bodies.append({"path": self.path, **body})
        raw = json.dumps([{"recipient_id": body["sender"], "text": "您好，请问有什么可以帮您？"}]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_channels_on_the_real_app(tmp_path, tiny_retriever, wechat_api):
    rasa = ThreadingHTTPServer(("127.0.0.1", 0), RasaRest)
    Thread(target=rasa.serve_forever, args=(0.05,), daemon=True).start()
    try:
        settings = Settings(data_dir=tmp_path, rasa_url=f"http://127.0.0.1:{rasa.server_address[1]}")
        app = create_app(settings, Services(settings=settings, retriever=tiny_retriever))
        app.include_router(router)
        app.state.wechat_settings = wechat_settings(wechat_api.url)
        with TestClient(app) as client:
            response = client.post(f"/wechat?{signed_query()}", content=fixture_xml("text.xml").encode())
            assert "您好，请问有什么可以帮您？" in response.text
            assert client.post("/sms/inbound?token=x", json={}).status_code == 503  # SMS not configured
    finally:
        rasa.shutdown()
        rasa.server_close()
    assert RasaRest.bodies == [
        {
            "path": "/webhooks/rest/webhook",
            "sender": "wechat:oTaxpayer_openid_0001",
            "message": "个税起征点是多少？",
            "metadata": {"channel": "wechat", "msg_type": "text"},
        }
    ]
