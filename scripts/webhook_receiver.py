"""A webhook receiver for trying the API locally: verifies each delivery and prints its event.

    .venv/bin/python scripts/webhook_receiver.py --secret whsec_... [--port 8765]

The secret is the organization's (``make run`` prints the demo organization's; on AWS ``music-api-admin
webhook-secret create``). Answers 204 to a verified delivery and 400 to anything else, so a bad signature shows
as retries in the delivery function's log.
"""

import argparse
import json
import os
from http.server import BaseHTTPRequestHandler, HTTPServer

from freddy_music.webhooks import WebhookVerificationError, verify


def handler(secret: str) -> type[BaseHTTPRequestHandler]:
    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                event = verify(secret, body, dict(self.headers.items()))
            except WebhookVerificationError as refused:
                print(f"refused: {refused}", flush=True)
                self.send_response(400)
            else:
                print(f"{self.headers['webhook-id']} {json.dumps(event, indent=2)}", flush=True)
                self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            """The event printed above is the log."""

    return Receiver


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--secret", default=os.environ.get("FREDDY_WEBHOOK_SECRET"), help="the whsec_ secret")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    if not args.secret:
        parser.error("pass --secret or set FREDDY_WEBHOOK_SECRET")
    server = HTTPServer(("127.0.0.1", args.port), handler(args.secret))
    print(f"receiving webhooks on http://127.0.0.1:{args.port}/ (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.server_close()


if __name__ == "__main__":
    main()
