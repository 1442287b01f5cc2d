"""Phones join in one step: the address a phone should open, from how the app is served."""

import io

import numpy as np
import pytest

from webapp.join import join_address, qr_png


def test_https_on_the_network_gives_the_https_address():
    where = join_address(https=True, bound="0.0.0.0", port=8501, addresses=["192.168.1.23", "10.0.0.2"])
    assert where.url == "https://192.168.1.23:8501" and "certificate" in where.note


def test_plain_http_on_the_network_says_phones_need_https_for_the_microphone():
    where = join_address(https=False, bound=None, port=8501, addresses=["192.168.1.23"])
    assert where.url == "http://192.168.1.23:8501" and "--https" in where.note


@pytest.mark.parametrize("bound, addresses", [("127.0.0.1", ["192.168.1.23"]), ("localhost", []), (None, [])])
def test_no_network_address_means_localhost_only_with_a_hint(bound, addresses):
    where = join_address(https=True, bound=bound, port=8501, addresses=addresses)
    assert where.url is None and "localhost" in where.note and "scripts/app.sh --https" in where.note


def test_the_qr_code_reads_back_as_the_address():
    zxingcpp = pytest.importorskip("zxingcpp", reason="zxing-cpp is not installed (requirements-dev.txt)")
    from PIL import Image
    image = Image.open(io.BytesIO(qr_png("https://192.168.1.23:8501"))).convert("L")
    assert [r.text for r in zxingcpp.read_barcodes(np.array(image))] == ["https://192.168.1.23:8501"]


def test_the_https_command_prints_the_code_in_the_terminal(tmp_path, monkeypatch, capsys):
    from webapp import tls
    monkeypatch.setenv("GENRE_TLS_DIR", str(tmp_path))
    monkeypatch.setattr(tls, "lan_addresses", lambda: ["192.168.1.23"])
    tls.main(["--port", "8502"])
    out = capsys.readouterr().out
    assert "https://192.168.1.23:8502" in out and "█" in out  # the code, drawn with block characters
    monkeypatch.setattr(tls, "lan_addresses", lambda: [])
    tls.main([])
    assert "no network address" in capsys.readouterr().out
