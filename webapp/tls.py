"""A self-signed certificate for serving the app over https on a classroom network: browsers allow
the microphone only on https (or on localhost), so phones on the Wi-Fi need it.

    python -m webapp.tls          # create (once) and print the certificate, key and addresses

The certificate and key live in the user's data folder (``GENRE_TLS_DIR`` to move them), never in
the project. A new one is made when this computer's network addresses are not all in it.
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import os
import socket
from pathlib import Path

import segno


def tls_dir() -> Path:
    if os.environ.get("GENRE_TLS_DIR"):
        return Path(os.environ["GENRE_TLS_DIR"])
    from platformdirs import user_data_dir
    return Path(user_data_dir("genre-demo")) / "tls"


def lan_addresses() -> list[str]:
    """This computer's IPv4 addresses other phones can reach (no loopback); the address of the
    interface that leads to the rest of the network first."""
    first, found = [], set()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))  # no packet is sent: this only picks the outgoing interface
            first.append(s.getsockname()[0])
    except OSError:
        pass
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            found.add(info[4][0])
    except OSError:
        pass
    ordered = first + sorted(found - set(first))
    return [a for a in ordered if not a.startswith(("127.", "0."))]


def _names(cert_path: Path) -> set[str]:
    from cryptography import x509
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(v) for v in san.get_values_for_type(x509.IPAddress)} | set(san.get_values_for_type(x509.DNSName))


def ensure_certificate(directory: Path | None = None, *, addresses: list[str] | None = None) -> tuple[Path, Path]:
    """(certificate, key) PEM files covering localhost, this host's name and its LAN addresses;
    made once, and again when an address is missing from the current one."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    directory = directory or tls_dir()
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    addresses = lan_addresses() if addresses is None else addresses
    wanted = {"127.0.0.1", "localhost", *addresses}
    if cert_path.is_file() and key_path.is_file() and wanted <= _names(cert_path):
        return cert_path, key_path
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    host = socket.gethostname() or "genre-demo"
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Music genre classifier on {host}")])
    now = datetime.datetime.now(datetime.timezone.utc)
    san = [x509.DNSName("localhost"), x509.DNSName(host)] + [x509.IPAddress(ipaddress.ip_address(a))
                                                            for a in sorted(wanted - {"localhost"})]
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=825))
            .add_extension(x509.SubjectAlternativeName(san), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    os.chmod(key_path, 0o600)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--shell", action="store_true", help="print CERT=... KEY=... lines for scripts/app.sh")
    args = p.parse_args(argv)
    cert, key = ensure_certificate()
    if args.shell:
        print(f"CERT='{cert}'\nKEY='{key}'")
        return 0
    print(f"certificate: {cert}\nkey: {key}")
    print(f"on this computer: https://localhost:{args.port}")
    addresses = lan_addresses()
    for a in addresses:
        print(f"on phones and laptops in the room: https://{a}:{args.port}")
    if addresses:
        print("Phones can scan this to open the first address:")
        segno.make(f"https://{addresses[0]}:{args.port}", error="m").terminal(compact=True)
    else:
        print("This computer has no network address: connect it to the classroom Wi-Fi for phones to join.")
    print("The certificate is self-signed: each device shows a warning once (\"Your connection is not private\" / "
          "\"Not secure\"). Choose Advanced -> Proceed (Chrome, Android) or Show Details -> visit this website "
          "(Safari, iPhone). Then allow the microphone.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
