"""The OpenAPI document declares the chat's file uploads as what they are: the file's raw
bytes (``application/octet-stream``, binary, never empty), for the widget's and the agent's
route alike, so the contract tests (tests/contract) send files, not JSON; and the server keeps
that promise (an empty body is refused, a declared one is taken)."""

from __future__ import annotations

from chat_floor import chat_floor, site_channel

from contactcenter.chat.settings import AttachmentSettings

ON = AttachmentSettings(enabled=True, max_bytes=64 * 1024, types=["txt"])
UPLOADS = ("/api/chat/widget/{channel}/conversations/{id}/attachments",
           "/api/chat/conversations/{id}/attachments")


async def test_the_upload_routes_declare_a_binary_body(tmp_path):
    channel = site_channel(auto_accept=True, attachments=ON)
    async with chat_floor(tmp_path, channels=[channel]) as floor:
        v = floor.visitor()
        async with v.http.get(f"{floor.url}/api/openapi.json") as r:
            doc = await r.json()
        for path in UPLOADS:
            op = doc["paths"][path]["post"]
            body = op["requestBody"]
            assert body["required"] is True, path
            assert list(body["content"]) == ["application/octet-stream"], path
            schema = body["content"]["application/octet-stream"]["schema"]
            assert (schema["type"], schema["format"], schema["minLength"]) == (
                "string", "binary", 1), path
            assert {"400", "413", "415"} <= set(op["responses"]), path
            assert any(p["name"] == "filename" and p["required"] for p in op["parameters"])

        await floor.agent("alice", "a1")  # auto-accepts the chat: files need a person
        status, _ = await v.start({"name": "Vera", "email": "v@example.com"})
        assert status == 201
        url = f"{v.base}/conversations/{v.conversation_id}/attachments"
        headers = {"Authorization": f"Bearer {v.token}",
                   "Content-Type": "application/octet-stream"}
        await v.connect()
        await v.active()
        async with v.http.post(url, params={"filename": "a.txt"}, data=b"",
                               headers=headers) as r:
            assert r.status == 400  # minLength 1: an empty file is refused
        async with v.http.post(url, params={"filename": "a.txt"}, data=b"hello",
                               headers=headers) as r:
            assert r.status == 201, await r.text()
