"""MPEG-TS evidence clips as MP4 for browsers (which do not play TS), without re-encoding."""

from __future__ import annotations

import io
from pathlib import Path

from core.errors import MediaError

PLAYABLE = {"h264", "hevc", "aac", "mp3", "opus", "vp9", "av1"}


def ts_to_mp4(path: Path) -> bytes:
    """Remux a TS file's audio and video packets into a fragmented MP4 in memory."""
    import av

    out_buf = io.BytesIO()
    try:
        with av.open(str(path)) as src:
            streams = [s for s in src.streams if s.type in ("video", "audio") and s.codec_context.name in PLAYABLE]
            if not streams:
                raise MediaError(f"clip {path.name} has no stream a browser can play",
                                 hint="the clip needs H.264/HEVC video or AAC/MP3 audio")
            with av.open(out_buf, "w", format="mp4",
                         options={"movflags": "frag_keyframe+empty_moov+default_base_moof"}) as dst:
                mapping = {s.index: dst.add_stream_from_template(s) for s in streams}
                # AAC in TS carries ADTS headers; a fragmented MP4 needs the raw frames (FFmpeg's
                # automatic filter comes too late for an empty moov)
                adts = {s.index: av.bitstream.BitStreamFilterContext("aac_adtstoasc", s)
                        for s in streams if s.codec_context.name == "aac"}
                first: dict[int, int] = {}
                for packet in src.demux(streams):
                    if packet.dts is None or packet.size == 0:
                        continue
                    index = packet.stream.index
                    for out in adts[index].filter(packet) if index in adts else [packet]:
                        if out.dts is None:
                            continue  # the filter keeps its input's dts, which is set (checked above)
                        base = first.setdefault(index, out.dts)
                        out.dts -= base
                        if out.pts is not None:
                            out.pts -= base
                        out.stream = mapping[index]
                        dst.mux(out)
    except av.FFmpegError as exc:
        raise MediaError(f"cannot remux clip {path.name}: {exc}", hint="the clip file may be damaged") from exc
    return out_buf.getvalue()
