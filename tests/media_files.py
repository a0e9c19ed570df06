"""Unusual and broken media files, written on the fly (PyAV for videos, raw bytes for a decompression bomb)."""

import struct
import zlib
from fractions import Fraction
from pathlib import Path

import numpy as np

RED = (220, 20, 20)


def write_video(path: Path, frames: int, width: int, height: int, fps: Fraction | int = 25, codec: str = "libx264",
                colour=RED, faststart: bool = False) -> Path:
    """A video of one solid colour; odd sizes use 4:4:4 chroma (4:2:0 needs even sizes)."""
    import av

    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv444p" if width % 2 or height % 2 else "yuv420p"
        pixels = np.zeros((height, width, 3), np.uint8) + np.array(colour, np.uint8)
        for index in range(frames):
            noise = (index % 3) if faststart else 0  # varying frames, so a truncated file loses real data
            frame = av.VideoFrame.from_ndarray(np.clip(pixels.astype(int) + noise, 0, 255).astype(np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_audio_only(path: Path) -> Path:
    """An .mp4 with sound and no picture."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=16000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate = 16000
        for packet in [*stream.encode(frame), *stream.encode()]:
            container.mux(packet)
    return path


def write_png_header(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims width x height pixels and whose data is a few bytes: a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
                     + chunk(b"IEND", b""))
    return path
