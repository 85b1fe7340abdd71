"""A stand-in for GitHub's secret-scanning public keys: a real ECDSA P-256
key pair and an HTTP server on 127.0.0.1 that publishes it (used by the
receiver tests and the live test)."""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec


def _pem(private_key: ec.EllipticCurvePrivateKey) -> str:
    return (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


class KeyServer:
    """GitHub's ``/meta/public_keys/secret_scanning`` on 127.0.0.1, counting fetches."""

    def __init__(self, port: int = 0) -> None:
        self.keys: dict[str, ec.EllipticCurvePrivateKey] = {}
        self.hits = 0
        self.status = 200
        self.delay = 0.0  # seconds each answer hangs before it is sent
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                server.hits += 1
                if server.delay:
                    time.sleep(server.delay)
                body = json.dumps(
                    {
                        "public_keys": [
                            {"key_identifier": kid, "key": _pem(key), "is_current": True}
                            for kid, key in server.keys.items()
                        ]
                    }
                ).encode()
                self.send_response(server.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/meta/public_keys"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def add_key(self, kid: str) -> ec.EllipticCurvePrivateKey:
        self.keys[kid] = ec.generate_private_key(ec.SECP256R1())
        return self.keys[kid]

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


def sign(private_key: ec.EllipticCurvePrivateKey, body: bytes) -> str:
    return base64.b64encode(private_key.sign(body, ec.ECDSA(hashes.SHA256()))).decode()


def payload(*tokens: str, url: str = "https://github.com/acme/app/blob/main/.env") -> bytes:
    return json.dumps(
        [{"token": t, "type": "acme_api_key", "url": url, "source": "content"} for t in tokens]
    ).encode()
