"""A smart-HTTP git server for the tests: `git http-backend` run as CGI behind a
threaded http.server, on 127.0.0.1 only. It prints its port, then serves until
killed.

    python http_git_server.py ROOT [--drop-push | --drop-fetch] [--user U:P]

--drop-push closes the connection after reading part of a push; --drop-fetch
after sending part of a fetch's pack; --user requires HTTP basic authentication.
"""

from __future__ import annotations

import argparse
import base64
import os
import socket
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


def read_body(handler: BaseHTTPRequestHandler) -> bytes:
    """The request body, plain or chunked (libgit2 sends large pushes chunked)."""
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                handler.rfile.readline()
                return body
            body += handler.rfile.read(size)
            handler.rfile.readline()
    return handler.rfile.read(int(handler.headers.get("Content-Length") or 0))


class GitHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: GitServer

    def log_message(self, format: str, *args: object) -> None:
        return

    def _authorised(self) -> bool:
        if self.server.credentials is None:
            return True
        expected = "Basic " + base64.b64encode(self.server.credentials.encode()).decode()
        if self.headers.get("Authorization") == expected:
            return True
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="git"')
        self.send_header("Content-Length", "0")
        self.end_headers()
        return False

    def _serve(self) -> None:
        if not self._authorised():
            return
        parts = urlsplit(self.path)
        receiving = "git-receive-pack" in self.path
        if self.command == "POST" and receiving and self.server.drop == "push":
            self.rfile.read(200)
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        body = read_body(self) if self.command == "POST" else b""
        environment = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": self.server.root, "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": self.command, "PATH_INFO": parts.path,
            "QUERY_STRING": parts.query, "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)), "REMOTE_ADDR": "127.0.0.1",
            "REMOTE_USER": "tester", "GIT_CONFIG_NOSYSTEM": "1", "HOME": self.server.root,
            "HTTP_GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
        }
        if self.headers.get("Content-Encoding"):
            environment["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        output = subprocess.run(["git", "http-backend"], input=body, env=environment,
                                capture_output=True, check=False).stdout
        head, _, payload = output.partition(b"\r\n\r\n")
        if not _:
            head, _, payload = output.partition(b"\n\n")
        status = 200
        headers = []
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command == "POST" and not receiving and self.server.drop == "fetch":
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(payload)

    do_GET = _serve
    do_POST = _serve


class GitServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: str, drop: str | None, credentials: str | None) -> None:
        super().__init__(("127.0.0.1", 0), GitHandler)
        self.root = root
        self.drop = drop
        self.credentials = credentials


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("root")
    parser.add_argument("--drop-push", dest="drop", action="store_const", const="push")
    parser.add_argument("--drop-fetch", dest="drop", action="store_const", const="fetch")
    parser.add_argument("--user")
    options = parser.parse_args()
    server = GitServer(os.path.abspath(options.root), options.drop, options.user)
    print(server.server_address[1], flush=True)
    sys.stdout.close()
    server.serve_forever()


if __name__ == "__main__":
    main()
