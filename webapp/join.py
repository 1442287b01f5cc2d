"""Phones join in one step: the address a phone should open, as a QR code big enough to scan from
the back of a room (the Live page, the sidebar; ``scripts/app.sh --https`` prints it too)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import segno
import streamlit as st

from webapp.tls import lan_addresses

LOCAL_ONLY = {"localhost", "127.0.0.1", "::1"}


@dataclass(frozen=True)
class JoinAddress:
    url: str | None  # what a phone should open; None when phones cannot reach this server
    note: str        # what the teacher should know (https needed, no network...)


def join_address(*, https: bool, bound: str | None, port: int, addresses: list[str]) -> JoinAddress:
    """Where phones in the room reach this server, from how it is served."""
    if bound in LOCAL_ONLY:
        return JoinAddress(None, "The app is served on this computer only (localhost). For phones to join, start it "
                                 "with `bash scripts/app.sh --https` on the classroom Wi-Fi.")
    if not addresses:
        return JoinAddress(None, "This computer has no network address, so only it can open the app (localhost). "
                                 "Connect it to the classroom Wi-Fi and start the app with `bash scripts/app.sh --https`.")
    if https:
        return JoinAddress(f"https://{addresses[0]}:{port}",
                           "Each phone warns once about the self-signed certificate: Advanced -> Proceed (Android) or "
                           "Show Details -> visit this website (iPhone).")
    return JoinAddress(f"http://{addresses[0]}:{port}",
                       "Over http, phones can open the app but browsers give it no microphone: start it with "
                       "`bash scripts/app.sh --https` for Live and recording on phones.")


def current() -> JoinAddress:
    """The join address of this server (its options and this computer's network addresses)."""
    return join_address(https=bool(st.get_option("server.sslCertFile")), bound=st.get_option("server.address"),
                        port=int(st.get_option("server.port")), addresses=_addresses())


@st.cache_data(ttl=30, show_spinner=False)
def _addresses() -> list[str]:
    return lan_addresses()


@st.cache_data(max_entries=8, show_spinner=False)
def qr_png(url: str) -> bytes:
    """A QR code of ``url``: medium error correction, the standard 4-module quiet zone."""
    buf = io.BytesIO()
    segno.make(url, error="m").save(buf, kind="png", scale=12, border=4)
    return buf.getvalue()


def show(width: int) -> None:
    """The QR code and the address in words, or why phones cannot join."""
    where = current()
    if where.url is None:
        st.info(where.note)
        return
    st.image(qr_png(where.url), width=width, caption=f"Open {where.url} on a phone", output_format="PNG")
    st.caption(where.note)
