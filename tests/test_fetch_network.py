"""The fetcher's network transport: whole bodies, reused and hung-up connections, TLS, on real loopback servers."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from flows.http.fetch import FetchRequest, FetchSettings, build_transport, fetch_batch

BIG_BODY = bytes(range(256)) * 6_000  # 1.5 MB: many reads


class Handler(BaseHTTPRequestHandler):
    """Answer /big with BIG_BODY, anything else with its path; /hangup closes the connection after answering."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        body = BIG_BODY if self.path == "/big" else self.path.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        self.server.peers.append(self.client_address[1])
        if self.path.startswith("/hangup"):
            self.close_connection = True  # no "Connection: close" header: the client learns it from the socket

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
        """Stay quiet."""


@contextmanager
def serve(tls: ssl.SSLContext | None = None) -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.peers = []
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def network_transport(verify: ssl.SSLContext | None = None) -> httpx.AsyncBaseTransport:
    """The fetcher's own network transport, on `verify` (default: the system's certificates)."""
    transport = build_transport(FetchSettings(max_connections=4)).network
    if verify is None:
        return transport
    return httpx.AsyncHTTPTransport(verify=verify, limits=httpx.Limits(max_connections=4), retries=0)


def get_all(transport: httpx.AsyncBaseTransport, urls: list[str], pause_s: float = 0.0) -> list[httpx.Response]:
    async def run() -> list[httpx.Response]:
        responses = []
        async with httpx.AsyncClient(transport=transport) as client:
            for url in urls:
                responses.append(await client.get(url))
                await asyncio.sleep(pause_s)
        return responses

    return asyncio.run(run())


def test_big_body_arrives_whole_and_the_connection_is_reused():
    with serve() as server:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        responses = get_all(network_transport(), [base + "/big"] * 3)
    assert [r.content for r in responses] == [BIG_BODY] * 3
    assert len(set(server.peers)) == 1  # one keep-alive connection carried all three


def test_server_hangup_on_an_idle_connection_is_noticed_before_reuse():
    with serve() as server:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        urls = [f"{base}/hangup/{n}" for n in range(3)]
        responses = get_all(network_transport(), urls, pause_s=0.2)
    assert [r.text for r in responses] == ["/hangup/0", "/hangup/1", "/hangup/2"]
    assert len(set(server.peers)) == 3  # each request on a fresh connection, none failed on a dead one


def test_fetch_batch_returns_whole_pages_in_request_order():
    with serve() as server:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        settings = FetchSettings(allow_private_networks=True, per_host_delay_s=0, respect_robots=False)
        results = fetch_batch([FetchRequest(f"{base}/big", "page"), FetchRequest(f"{base}/a", "page")], settings)
    assert [(r.status, r.body) for r in results] == [(200, BIG_BODY), (200, b"/a")]


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made for the test."""
    pytest.importorskip("cryptography")  # installed with Prefect
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_tls_is_verified(tmp_path):
    cert_path, key_path = self_signed(tmp_path)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert_path, key_path)
    trusting = ssl.create_default_context(cafile=str(cert_path))
    with serve(server_context) as server:
        url = f"https://127.0.0.1:{server.server_address[1]}/big"
        responses = get_all(network_transport(trusting), [url, url])
        assert [r.content for r in responses] == [BIG_BODY] * 2
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            get_all(network_transport(), [url])
