"""HLS playlists: validate, pick a variant, tell live from VOD.

FFmpeg's HLS demuxer would open every variant of a master playlist; monitoring
wants one. We read the playlist ourselves (httpx), choose the variant from
``source.options["variant"]`` and hand PyAV the chosen media playlist.

``variant``: ``"highest"``, ``"lowest"`` or a height such as ``720`` /
``"720p"`` (the best variant not taller than that; the lowest when none is).
Default: 720.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from core.errors import MediaError

_ATTR = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')


@dataclass(frozen=True)
class Variant:
    uri: str
    bandwidth: int = 0
    width: int = 0
    height: int = 0


@dataclass(frozen=True)
class Playlist:
    url: str  # the media playlist to open
    vod: bool  # has #EXT-X-ENDLIST: ends by itself
    variant: Variant | None = None
    variants: int = 0


def is_hls(locator: str, options: dict) -> bool:
    if options.get("format") == "hls":
        return True
    return urlsplit(locator).path.lower().endswith((".m3u8", ".m3u"))


def parse_attrs(line: str) -> dict[str, str]:
    return {k: v.strip('"') for k, v in _ATTR.findall(line.split(":", 1)[-1])}


def parse_master(text: str, base: str) -> list[Variant]:
    variants: list[Variant] = []
    lines = [ln.strip() for ln in text.splitlines()]
    for i, line in enumerate(lines):
        if not line.startswith("#EXT-X-STREAM-INF"):
            continue
        attrs = parse_attrs(line)
        uri = next((ln for ln in lines[i + 1 :] if ln and not ln.startswith("#")), None)
        if uri is None:
            continue
        w, _, h = attrs.get("RESOLUTION", "0x0").partition("x")
        try:
            bw = int(attrs.get("BANDWIDTH", "0"))
            width, height = int(w or 0), int(h or 0)
        except ValueError:
            bw, width, height = 0, 0, 0
        variants.append(Variant(urljoin(base, uri), bw, width, height))
    return variants


def choose(variants: list[Variant], want: object = 720) -> Variant:
    order = sorted(variants, key=lambda v: (v.height, v.bandwidth))
    if want in ("highest", "best", "max"):
        return order[-1]
    if want in ("lowest", "min"):
        return order[0]
    try:
        limit = int(str(want).rstrip("pP"))
    except ValueError as exc:
        raise MediaError(
            f"HLS variant choice {want!r} is not understood",
            hint='use "highest", "lowest" or a height such as 720',
        ) from exc
    fitting = [v for v in order if v.height <= limit]
    return fitting[-1] if fitting else order[0]


def _fetch(client: httpx.Client, url: str) -> str:
    try:
        resp = client.get(url)
    except httpx.HTTPError as exc:
        raise MediaError(
            f"HLS playlist {url} could not be fetched: {type(exc).__name__} {exc}",
            hint="check that the stream URL is reachable",
        ) from exc
    if resp.status_code != 200:
        raise MediaError(
            f"HLS playlist {url} answered HTTP {resp.status_code}",
            hint="check the stream URL; a live stream may be down",
        )
    return resp.text


def _check(text: str, url: str) -> None:
    if not text.lstrip("\ufeff \r\n\t").startswith("#EXTM3U"):
        raise MediaError(
            f"HLS playlist {url} is malformed: it does not start with #EXTM3U",
            hint="the server does not serve an HLS playlist at this URL",
        )


def resolve(url: str, options: dict, timeout: float = 10.0) -> Playlist:
    """The media playlist to read for ``url`` (master or media playlist)."""
    with httpx.Client(timeout=timeout, follow_redirects=True, headers=options.get("headers") or {}) as client:
        text = _fetch(client, url)
        _check(text, url)
        if "#EXT-X-STREAM-INF" not in text:
            if "#EXTINF" not in text and "#EXT-X-TARGETDURATION" not in text:
                raise MediaError(
                    f"HLS playlist {url} is malformed: no segments and no variants",
                    hint="the playlist must list #EXTINF segments or #EXT-X-STREAM-INF variants",
                )
            return Playlist(url, vod="#EXT-X-ENDLIST" in text)
        variants = parse_master(text, url)
        if not variants:
            raise MediaError(
                f"HLS master playlist {url} is malformed: no variant URI follows #EXT-X-STREAM-INF",
                hint="each #EXT-X-STREAM-INF line must be followed by the variant's URI",
            )
        chosen = choose(variants, options.get("variant", 720))
        media = _fetch(client, chosen.uri)
        _check(media, chosen.uri)
        return Playlist(chosen.uri, vod="#EXT-X-ENDLIST" in media, variant=chosen, variants=len(variants))
