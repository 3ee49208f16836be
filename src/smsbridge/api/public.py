"""Public links in message texts: tracked short links (``/l/CODE``) and file downloads
(``/f/CODE``). No authentication: the code is the secret, and a file may have a password."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from smsbridge.api.deps import GatewayDep

router = APIRouter(tags=["public links"])


def base_url(request: Request) -> str:
    """Where recipients reach this gateway: the configured public URL, else the request's."""
    configured = request.app.state.gateway.settings.public_url
    return (configured or str(request.base_url)).rstrip("/")


@router.get("/l/{code}", summary="Follow a tracked link (counts the click)")
async def follow(code: str, request: Request, gw: GatewayDep) -> Response:
    url = await gw.links.click(code[:16], base_url(request))
    return RedirectResponse(url, status_code=302)


@router.get("/f/{code}", summary="Download a file sent with a message")
async def download(code: str, gw: GatewayDep, password: str | None = None) -> Response:
    name, content = await gw.links.download(code[:24], password)
    return Response(
        content,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )
