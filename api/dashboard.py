"""The browser dashboard: `/` and its static files, served by the same FastAPI app as the API.

Only a fixed list of files is served (no path from the request ever reaches the filesystem).
The chart library is not in the repository: `scripts/install.sh` copies it from the npm registry
into `api/static/vendor/`. When that copy is missing, its route answers 404 and the page falls
back to a public CDN (see `loadChartLibrary` in app.js).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

STATIC_DIR = Path(__file__).resolve().parent / "static"
VENDOR_DIR = STATIC_DIR / "vendor"
CHART_LIBRARY = "lightweight-charts.standalone.production.js"

# URL name -> (file, media type): the page's own modules (listed once, at import: api/static
# and api/static/views), its style and icon, and the vendored chart library.
_FILES: dict[str, tuple[Path, str]] = {
    **{
        path.relative_to(STATIC_DIR).as_posix(): (path, "text/javascript")
        for folder in (STATIC_DIR, STATIC_DIR / "views")
        for path in sorted(folder.glob("*.js"))
    },
    "style.css": (STATIC_DIR / "style.css", "text/css"),
    "favicon.svg": (STATIC_DIR / "favicon.svg", "image/svg+xml"),
    f"vendor/{CHART_LIBRARY}": (VENDOR_DIR / CHART_LIBRARY, "text/javascript"),
}
# The page carries order and close buttons: no other site may frame it (clickjacking), it runs
# only its own scripts (and the chart library's pinned CDN copy when none is installed), and a
# file is never sniffed into another type. Revalidate on every load: a restarted service may
# serve a newer page.
CSP = (
    "default-src 'self'; script-src 'self' https://unpkg.com; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
)
_NO_CACHE = {
    "Cache-Control": "no-cache",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
}

router = APIRouter(tags=["dashboard"], include_in_schema=False)


def _file(name: str) -> FileResponse:
    entry = _FILES.get(name)
    if entry is None or not entry[0].is_file():
        raise HTTPException(status_code=404, detail=f"no static file {name!r}")
    path, media_type = entry
    return FileResponse(path, media_type=media_type, headers=_NO_CACHE)


@router.get("/")
async def index() -> FileResponse:
    """The dashboard page."""
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html", headers=_NO_CACHE)


@router.get("/static/{name:path}")
async def static_file(name: str) -> FileResponse:
    """One of the page's files, or the vendored chart library (404 if not installed)."""
    return _file(name)


def chart_library_installed() -> bool:
    """True when install.sh has put the chart library in place (no CDN needed)."""
    return (VENDOR_DIR / CHART_LIBRARY).is_file()
