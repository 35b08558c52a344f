"""Test peers for heimsight-notify's integration tests, on 127.0.0.1.

    python peers.py smtp  --dir DIR [--tls-cert PEM --tls-key PEM (--starttls | --implicit-tls)]
                          [--auth USER:PASSWORD]
    python peers.py https --dir DIR --tls-cert PEM --tls-key PEM

Each server listens on a free port, prints "READY <port>" on stdout, then serves until killed.
Every message or request it receives is parsed and saved as DIR/<n>.json.

The SMTP server is aiosmtpd (pinned in heimsight-cli/tests/otel_sdk/requirements.txt); the
message is parsed with Python's email package, so the test checks what a real mail client
would see: envelope, headers, MIME parts and their decoded text.
"""

import argparse
import asyncio
import email
import email.policy
import http.server
import json
import logging
import os
import ssl
import sys
import threading
import warnings

# aiosmtpd warns about settings the tests choose on purpose (AUTH over implicit TLS) and about
# its own deprecated attributes; keep the test output quiet.
warnings.filterwarnings("ignore", module="aiosmtpd")
logging.getLogger("mail.log").setLevel(logging.ERROR)


def save(directory, record):
    """Writes one record atomically as the next numbered JSON file."""
    with _lock:
        n = len([f for f in os.listdir(directory) if f.endswith(".json")])
        tmp = os.path.join(directory, f".{n}.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(directory, f"{n}.json"))


_lock = threading.Lock()


def tls_context(args):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.tls_cert, args.tls_key)
    return ctx


def parse_message(raw):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    parts = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        parts.append(
            {
                "content_type": part.get_content_type(),
                "charset": part.get_content_charset(),
                "text": part.get_content(),
            }
        )
    return {
        "subject": msg["subject"],
        "from": msg["from"],
        "to": msg["to"],
        "date": msg["date"],
        "message_id": msg["message-id"],
        "content_type": msg.get_content_type(),
        "parts": parts,
    }


def run_smtp(args):
    from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            record = {
                "mail_from": envelope.mail_from,
                "rcpt_tos": envelope.rcpt_tos,
                "tls": session.ssl is not None
                or server.transport.get_extra_info("ssl_object") is not None,
                "authenticated": session.authenticated,
                "login": session.auth_data if isinstance(session.auth_data, str) else None,
                "message": parse_message(envelope.original_content),
            }
            save(args.dir, record)
            return "250 2.0.0 Ok: saved"

    users = {}
    if args.auth:
        user, _, password = args.auth.partition(":")
        users[user] = password

    def authenticator(server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user = auth_data.login.decode()
        ok = users.get(user) == auth_data.password.decode()
        return AuthResult(success=ok, handled=False, auth_data=user if ok else None)

    ctx = tls_context(args) if args.tls_cert else None
    starttls = ctx if args.starttls else None

    def factory():
        return SMTP(
            Handler(),
            hostname="peers.test",
            tls_context=starttls,
            require_starttls=starttls is not None,
            authenticator=authenticator if users else None,
            auth_required=bool(users),
            # aiosmtpd only counts STARTTLS as TLS; with implicit TLS the whole
            # connection is encrypted anyway.
            auth_require_tls=not args.implicit_tls,
        )

    async def main():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            factory, "127.0.0.1", 0, ssl=ctx if args.implicit_tls else None
        )
        port = server.sockets[0].getsockname()[1]
        print(f"READY {port}", flush=True)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def run_https(args):
    directory = args.dir

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            save(
                directory,
                {
                    "method": "POST",
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body.decode("utf-8", "replace"),
                },
            )
            reply = b"ok"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = tls_context(args).wrap_socket(server.socket, server_side=True)
    print(f"READY {server.server_address[1]}", flush=True)
    server.serve_forever()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("kind", choices=["smtp", "https"])
    p.add_argument("--dir", required=True)
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--starttls", action="store_true")
    p.add_argument("--implicit-tls", action="store_true")
    p.add_argument("--auth")
    args = p.parse_args()
    if args.kind == "smtp":
        run_smtp(args)
    else:
        run_https(args)


if __name__ == "__main__":
    sys.exit(main())
