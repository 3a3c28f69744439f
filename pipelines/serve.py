"""`calibra serve`: the published site on http://127.0.0.1 — nothing but the site folder, nothing but loopback.

Python's http.server is not a production server (RELIABILITY.md): it binds 127.0.0.1 only and serves only the
site folder (SimpleHTTPRequestHandler with directory=site; paths outside it are refused by the handler).
The site works just as well opened from a file share; this is for browsers that restrict file:// pages.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import sys
from pathlib import Path

HOST = "127.0.0.1"


def port_number(text: str) -> int:
    """A TCP port for argparse: 0 (any free port) to 65535, else one sentence."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port {value} does not exist: give 1 to 65535 (0 = any free port)")
    return value


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Static files from the site folder, with headers that keep the pages offline and unframed."""

    def end_headers(self) -> None:
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def list_directory(self, path):  # type: ignore[no-untyped-def]
        """No directory listings: only the pages the site links to."""
        self.send_error(404, "Not found")
        return None

    def log_message(self, format: str, *args: object) -> None:
        """Requests are not logged (URLs can name departments); errors go to stderr without the path."""


def make_server(site: Path, port: int = 8000) -> http.server.ThreadingHTTPServer:
    """A server for `site` on 127.0.0.1:`port` (0 picks a free port); call serve_forever() on it."""
    site = Path(site).resolve()
    if not (site / "index.html").is_file():
        raise FileNotFoundError(f"{site} holds no index.html: build the site first with `calibra run`")
    handler = functools.partial(SiteHandler, directory=str(site))
    return http.server.ThreadingHTTPServer((HOST, port), handler)


def cmd_serve(args: argparse.Namespace) -> int:
    from pipelines.settings import resolve

    if args.site:
        site = Path(args.site)
    else:
        site = resolve(getattr(args, "config", None), getattr(args, "home", None)).site
    # One audience's site at a time (dashboards.site.SITES): never both behind one address.
    site = site / args.audience if (site / args.audience / "index.html").is_file() else site
    try:
        server = make_server(site, args.port)
    except FileNotFoundError as error:
        print(f"calibra serve: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        reason = (error.strerror or type(error).__name__).lower()
        print(
            f"calibra serve: cannot listen on {HOST}:{args.port} ({reason}); choose another --port",
            file=sys.stderr,
        )
        return 2
    except OverflowError:
        print(f"calibra serve: port {args.port} does not exist; give 1 to 65535", file=sys.stderr)
        return 2
    port = server.server_address[1]
    print(f"calibra serve: http://{HOST}:{port}/ (only {site}; Ctrl+C stops it)", file=sys.stderr)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("calibra serve: stopped", file=sys.stderr)
    finally:
        server.server_close()
    return 0


def add_serve_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Register `calibra serve [--port] [--site]` on the CLI's subparsers."""
    serve = subparsers.add_parser(
        "serve", help="serve the published site on 127.0.0.1 (only the site folder)"
    )
    serve.add_argument(
        "--port", type=port_number, default=8000, help="port on 127.0.0.1 (default 8000; 0 = any free port)"
    )
    serve.add_argument("--site", help="site folder to serve (default: the configured site)")
    serve.add_argument(
        "--audience",
        choices=("organisatie", "management"),
        default="organisatie",
        help="which of the site's two sites to serve (default organisatie: the one for all staff)",
    )
    serve.add_argument("--config", help="calibra.yaml to use (default: the project's)")
    serve.add_argument("--home", help="folder with the database (default: var/)")
    serve.set_defaults(func=cmd_serve)
    return serve
