"""Request bodies are counted as they arrive, whatever the client declares.

A declared Content-Length over the limit is refused at the first read, before any byte of the
body is taken; a body sent without one (chunked) is refused as soon as its running count passes
the limit. Without this, Starlette reads a url-encoded form whole into memory and spools a
multipart file of any size to disk. The limit depends on what the body may be: a roster upload
(multipart) may reach the upload limit, anything else is a form or JSON of a few kilobytes.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# JSON and url-encoded forms: the largest real one (a bulk assignment's filter, an edit form
# with notes of 2 000 characters) is a few KB; 2 MiB leaves room without letting memory go.
OTHER_BODY_MAX_BYTES = 2 * 1024 * 1024
# Multipart headers, boundaries and the form's small fields beside the file.
MULTIPART_OVERHEAD = 64 * 1024


class BodyTooLarge(HTTPException):
    """413 with a Chinese message naming the limit (the HTTP handler shows `detail`)."""

    def __init__(self, limit: int) -> None:
        megabytes = max(1, limit // (1024 * 1024))
        super().__init__(413, f"请求内容超过上限 {megabytes} MB，已拒绝")


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, upload_max_bytes: int) -> None:
        self.app = app
        self.upload_max_bytes = upload_max_bytes

    def _limit(self, scope: Scope) -> tuple[int, int]:
        """(bytes allowed, bytes shown in the message) for this request."""
        content_type = b""
        declared = -1
        for name, value in scope.get("headers", ()):
            if name == b"content-type":
                content_type = value
            elif name == b"content-length" and value.isdigit():
                declared = int(value)
        if content_type.startswith(b"multipart/form-data"):
            limit, shown = self.upload_max_bytes + MULTIPART_OVERHEAD, self.upload_max_bytes
        else:
            limit, shown = OTHER_BODY_MAX_BYTES, OTHER_BODY_MAX_BYTES
        return (-1 if declared > limit else limit), shown

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, shown = self._limit(scope)
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            if limit < 0:  # declared too large: refuse before taking any of it
                raise BodyTooLarge(shown)
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(shown)
            return message

        await self.app(scope, counted, send)
