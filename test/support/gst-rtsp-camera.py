#!/usr/bin/python3
"""An RTSP camera that is not ours: GStreamer's gst-rtsp-server (Debian: gir1.2-gst-rtsp-server-1.0,
python3-gi) serving a live test pattern, H.264 (x264enc, zero latency, a keyframe a second), at
rtsp://127.0.0.1:PORT/NAME. For the live-source tests and scripts/soak.

  gst-rtsp-camera.py --port 8554 --name cam [--width 320 --height 240 --fps 15] [--user u --password p]
                     [--codec h264|h265]

Prints "ready" on stdout once listening; runs until SIGTERM/SIGINT.
"""
import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--name", default="cam")
    ap.add_argument("--width", type=int, default=320)
    ap.add_argument("--height", type=int, default=240)
    ap.add_argument("--fps", type=int, default=15)
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--codec", choices=["h264", "h265"], default="h264")
    a = ap.parse_args()

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(a.port))
    factory = GstRtspServer.RTSPMediaFactory()
    if a.codec == "h265":
        encode = f"x265enc tune=zerolatency speed-preset=ultrafast key-int-max={a.fps} ! video/x-h265,profile=main ! rtph265pay name=pay0 pt=96 config-interval=1"
    else:
        encode = (
            f"x264enc tune=zerolatency speed-preset=ultrafast key-int-max={a.fps} bframes=0 "
            f"! video/x-h264,profile=baseline ! rtph264pay name=pay0 pt=96 config-interval=1"
        )
    factory.set_launch(
        f"( videotestsrc is-live=true pattern=ball ! video/x-raw,width={a.width},height={a.height},framerate={a.fps}/1 ! {encode} )"
    )
    factory.set_shared(True)
    if a.user:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "user")
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(a.user, a.password or ""), token)
        server.set_auth(auth)
        perms = GstRtspServer.RTSPPermissions()
        perms.add_permission_for_role("user", GstRtspServer.RTSP_PERM_MEDIA_FACTORY_ACCESS, True)
        perms.add_permission_for_role("user", GstRtspServer.RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, True)
        factory.set_permissions(perms)
    server.get_mount_points().add_factory(f"/{a.name}", factory)
    if server.attach(None) == 0:
        print(f"cannot listen on 127.0.0.1:{a.port}", file=sys.stderr)
        return 1
    loop = GLib.MainLoop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    print("ready", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
