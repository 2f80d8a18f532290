"""The carrier simulator's HTTP control endpoint, for tests, the demo and the benchmark.

``POST /mo`` injects an MO, ``GET /stats`` and ``GET /messages`` show what
happened, ``POST /reset`` forgets it, ``POST /disconnect`` drops every SMPP
connection (a link failure on demand), ``POST /config`` changes behaviour
at runtime. Errors are JSON ``{error, detail}``.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from aiohttp import web

from simulator.records import ReceivedMessage

__all__ = ["control_app", "start_control"]

class Controlled(Protocol):
    """What the endpoint drives: the carrier simulator (simulator.carrier)."""

    async def inject_mo(self, source_addr: str, destination_addr: str, text: str,
                        data_coding: int | None = None, system_id: str | None = None) -> int: ...

    def stats_json(self) -> dict[str, Any]: ...

    def messages(self) -> list[ReceivedMessage]: ...

    def reset(self) -> None: ...

    def disconnect(self) -> int: ...

    def configure(self, **changes: Any) -> None: ...

    def settings(self) -> dict[str, Any]: ...


_SIMULATOR: web.AppKey[Controlled] = web.AppKey("simulator")


def _error(status: int, error: str, detail: str) -> web.Response:
    return web.json_response({"error": error, "detail": detail}, status=status)


async def _body(request: web.Request) -> dict[str, Any] | web.Response:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _error(400, "bad_json", "the body must be a JSON object")
    if not isinstance(body, dict):
        return _error(400, "bad_json", "the body must be a JSON object")
    return body


async def _mo(request: web.Request) -> web.Response:
    body = await _body(request)
    if isinstance(body, web.Response):
        return body
    missing = [key for key in ("from", "to", "text") if not isinstance(body.get(key), str)]
    if missing:
        return _error(400, "bad_request", f"{', '.join(missing)}: expected a string")
    data_coding = body.get("data_coding")
    if data_coding is not None and (
        isinstance(data_coding, bool) or not isinstance(data_coding, int)
        or not 0 <= data_coding <= 0xFF
    ):
        return _error(400, "bad_request", "data_coding: expected an integer from 0 to 255")
    system_id = body.get("system_id")
    if system_id is not None and not isinstance(system_id, str):
        return _error(400, "bad_request", "system_id: expected a string")
    try:
        parts = await request.app[_SIMULATOR].inject_mo(
            body["from"], body["to"], body["text"], data_coding, system_id
        )
    except ValueError as error:  # unencodable text, too many parts
        return _error(422, "unsendable", str(error))
    return web.json_response({"parts": parts}, status=202)


async def _stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[_SIMULATOR].stats_json())


async def _messages(request: web.Request) -> web.Response:
    return web.json_response([m.as_json() for m in request.app[_SIMULATOR].messages()])


async def _reset(request: web.Request) -> web.Response:
    request.app[_SIMULATOR].reset()
    return web.json_response({"reset": True})


async def _disconnect(request: web.Request) -> web.Response:
    return web.json_response({"dropped": request.app[_SIMULATOR].disconnect()})


async def _config(request: web.Request) -> web.Response:
    body = await _body(request)
    if isinstance(body, web.Response):
        return body
    simulator = request.app[_SIMULATOR]
    try:
        simulator.configure(**body)
    except ValueError as error:
        return _error(400, "bad_config", str(error))
    return web.json_response(simulator.settings())


def control_app(simulator: Controlled) -> web.Application:
    """The aiohttp application controlling ``simulator``."""
    app = web.Application(client_max_size=1 << 20)
    app[_SIMULATOR] = simulator
    app.router.add_post("/mo", _mo)
    app.router.add_get("/stats", _stats)
    app.router.add_get("/messages", _messages)
    app.router.add_post("/reset", _reset)
    app.router.add_post("/disconnect", _disconnect)
    app.router.add_post("/config", _config)
    return app


async def start_control(
    simulator: Controlled, host: str, port: int
) -> tuple[web.AppRunner, int]:
    """Serve the control endpoint on host:port (0: any free port); return the runner and port."""
    runner = web.AppRunner(control_app(simulator), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner, runner.addresses[0][1]
