"""Local stand-ins for the wallets' servers, started by the tests on a free port (threads in the test process).

``ApnsStandin`` speaks HTTP/2 with prior knowledge (plain TCP, the ``h2`` library), as APNs speaks HTTP/2 only:
it records every push (device token, headers, body) after checking the bearer JWT (ES256, the team's key)
and the topic; a device token in ``gone`` answers 410 as APNs does for a removed pass.
``GoogleWalletStandin`` (HTTP/1.1) plays the service account's token endpoint (checks the RS256 assertion with
the account's public key, hands out an access token) and the Wallet REST API's PATCH of a loyalty object
(checks the bearer, records the body; an object never saved answers 404).
"""

from __future__ import annotations

import json
import secrets
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import h2.config
import h2.connection
import h2.events
import jwt

from tests.smtp_sink import free_port


@dataclass
class Push:
    device_token: str
    headers: dict[str, str]
    body: bytes


@dataclass
class ApnsStandin:
    public_key: object
    team_id: str
    topic: str
    pushes: list[Push] = field(default_factory=list)
    gone: set[str] = field(default_factory=set)
    rejected: int = 0

    def start(self) -> ApnsStandin:
        self.port = free_port()
        self.sock = socket.create_server(("127.0.0.1", self.port))
        self.running = True
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.running = False
        self.sock.close()

    def _serve(self) -> None:
        while self.running:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _status(self, headers: dict[str, str], device_token: str) -> int:
        try:
            scheme, token = headers.get("authorization", "").split(" ", 1)
            claims = jwt.decode(token, self.public_key, algorithms=["ES256"], options={"verify_aud": False})
        except (ValueError, jwt.PyJWTError):
            return 403
        if scheme != "bearer" or claims.get("iss") != self.team_id or headers.get("apns-topic") != self.topic:
            return 403
        return 410 if device_token in self.gone else 200

    def _handle(self, conn: socket.socket) -> None:
        h2conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=False))
        h2conn.initiate_connection()
        conn.sendall(h2conn.data_to_send())
        streams: dict[int, dict] = {}
        with conn:
            while True:
                data = conn.recv(65535)
                if not data:
                    return
                for event in h2conn.receive_data(data):
                    if isinstance(event, h2.events.RequestReceived):
                        headers = {k.decode() if isinstance(k, bytes) else k: v.decode() if isinstance(v, bytes) else v
                                   for k, v in event.headers}  # fmt: skip
                        streams[event.stream_id] = {"headers": headers, "body": b""}
                    elif isinstance(event, h2.events.DataReceived):
                        streams[event.stream_id]["body"] += event.data
                        h2conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                    elif isinstance(event, h2.events.StreamEnded):
                        stream = streams.pop(event.stream_id)
                        device_token = stream["headers"].get(":path", "").rsplit("/", 1)[-1]
                        status = self._status(stream["headers"], device_token)
                        if status == 200:
                            self.pushes.append(Push(device_token, stream["headers"], stream["body"]))
                        else:
                            self.rejected += 1
                        body = b"" if status == 200 else json.dumps({"reason": "Unregistered"}).encode()
                        h2conn.send_headers(event.stream_id, [(":status", str(status)),
                                                              ("content-length", str(len(body)))])  # fmt: skip
                        h2conn.send_data(event.stream_id, body, end_stream=True)
                    elif isinstance(event, h2.events.ConnectionTerminated):
                        conn.sendall(h2conn.data_to_send())
                        return
                conn.sendall(h2conn.data_to_send())


class GoogleWalletStandin:
    def __init__(self, *, public_key, client_email: str):
        self.public_key = public_key
        self.client_email = client_email
        self.tokens: set[str] = set()
        self.saved: set[str] = set()  # object ids a member saved to their wallet
        self.patches: list[tuple[str, dict]] = []
        self.rejected = 0

    def start(self) -> GoogleWalletStandin:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _send(self, status: int, payload: dict) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                if self.path != "/token":
                    return self._send(404, {})
                form = parse_qs(body)
                try:
                    claims = jwt.decode(form["assertion"][0], standin.public_key, algorithms=["RS256"],
                                        audience=standin.url + "/token")  # fmt: skip
                except (KeyError, jwt.PyJWTError):
                    standin.rejected += 1
                    return self._send(400, {"error": "invalid_grant"})
                if claims.get("iss") != standin.client_email or "wallet_object.issuer" not in claims.get("scope", ""):
                    standin.rejected += 1
                    return self._send(400, {"error": "invalid_scope"})
                token = secrets.token_hex(16)
                standin.tokens.add(token)
                return self._send(200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"})

            def do_PATCH(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                scheme, _sep, token = self.headers.get("Authorization", "").partition(" ")
                if scheme != "Bearer" or token not in standin.tokens:
                    standin.rejected += 1
                    return self._send(401, {"error": {"code": 401}})
                object_id = self.path.rsplit("/", 1)[-1]
                if not self.path.startswith("/walletobjects/v1/loyaltyObject/") or object_id not in standin.saved:
                    return self._send(404, {"error": {"code": 404}})
                standin.patches.append((object_id, json.loads(body)))
                return self._send(200, {"id": object_id})

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- Keys and certificates the tests make themselves ----------------------------------------------


def _name(common_name: str):
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject: str, key, issuer: str, issuer_key, *, ca: bool):
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(issuer_key, hashes.SHA256())
    )


def wallet_secrets(directory) -> dict:
    """A self-made root CA, a "WWDR" intermediate it signs, a pass type certificate the intermediate signs, an
    APNs token key (P-256) and a Google service account (RSA), written as files the settings name."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    pem = serialization.Encoding.PEM
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    wwdr_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pass_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root = _certificate("Test Root CA", root_key, "Test Root CA", root_key, ca=True)
    wwdr = _certificate("Test WWDR", wwdr_key, "Test Root CA", root_key, ca=True)
    pass_cert = _certificate("Pass Type ID: pass.test.tsunagu", pass_key, "Test WWDR", wwdr_key, ca=False)
    apns_key = ec.generate_private_key(ec.SECP256R1())
    google_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def key_pem(key) -> bytes:
        return key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())

    files = {
        "root.pem": root.public_bytes(pem),
        "wwdr.pem": wwdr.public_bytes(pem),
        "pass.pem": pass_cert.public_bytes(pem),
        "pass.key": key_pem(pass_key),
        "apns.p8": key_pem(apns_key),
    }
    for name, data in files.items():
        (directory / name).write_bytes(data)
    return {
        "dir": directory,
        "root": root,
        "wwdr": wwdr,
        "pass_cert": pass_cert,
        "apns_public": apns_key.public_key(),
        "google_key": google_key,
        "google_public": google_key.public_key(),
        "google_key_pem": key_pem(google_key).decode(),
    }


def google_key_file(directory, made: dict, token_uri: str):
    path = directory / "google.json"
    path.write_text(json.dumps({
        "type": "service_account",
        "client_email": "wallet@tsunagu-test.iam.gserviceaccount.com",
        "private_key": made["google_key_pem"],
        "token_uri": token_uri,
    }))  # fmt: skip
    return path
