"""A real HTTP(S) listener on 127.0.0.1 for the webhook tests (issue 5).

WebhookListener runs Python's http.server in threads of the test process on
a TCP port the kernel picks (bind to port 0: never taken by anyone else).
It records every request (method, path, headers in order, raw body, arrival
time) and answers from a script, one entry per request in arrival order,
then `default` for the requests after the script:

    200, 500, 400, ...   that status (small JSON body)
    {"status": 302, "headers": {"Location": "..."}, "delay": 0.1}
    HANG                 read and record the request, never answer; the
                         connection stays open until the client closes it
                         or the listener stops

silent=True accepts every connection and never reads from it nor answers
(only the connection is recorded). tls=(certfile, keyfile) makes it HTTPS.

stop() is bounded: it stops the accept loop, closes every connection it
accepted (including hanging ones) and joins its threads with a timeout.
"""

import http.server
import json
import os
import select
import socket
import ssl
import subprocess
import threading
import time

HANG = "hang"


class Request:
    """One request as it arrived."""

    def __init__(self, method, path, version, headers, body, wall, mono,
                 conn):
        self.method = method
        self.path = path
        self.version = version
        self.headers = headers    # [(name, value)] in arrival order
        self.body = body          # raw bytes
        self.time = wall          # time.time() when its headers were read
        self.mono = mono          # time.monotonic() at the same moment
        self.conn = conn          # number of the connection it came on
        self.status = None        # what was answered (None: nothing)

    def header(self, name):
        """Value of the first header <name> (any case), or None."""
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def header_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def json(self, **kw):
        return json.loads(self.body.decode("utf-8"), **kw)

    def __repr__(self):
        return "<%s %s %r>" % (self.method, self.path, self.body[:200])


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, listener, addr):
        self.listener = listener
        super().__init__(addr, _Handler)

    def process_request(self, request, client_address):
        lis = self.listener
        with lis._lock:
            lis._conn_count += 1
            lis.connections.append(time.monotonic())
            lis._socks.add(request)
            conn_no = lis._conn_count
        if lis.silent:
            # Accept, read nothing, answer nothing: the socket stays open
            # (the kernel buffers whatever the client sends) until stop().
            return
        t = threading.Thread(target=self._serve_one,
                             args=(request, client_address, conn_no),
                             daemon=True)
        with lis._lock:
            lis._threads.append(t)
        t.start()

    def _serve_one(self, request, client_address, conn_no):
        try:
            _Handler(request, client_address, self, conn_no=conn_no)
        except Exception as exc:  # noqa: BLE001 - recorded, not raised
            with self.listener._lock:
                self.listener.errors.append(repr(exc))
        finally:
            self.listener._forget(request)
            try:
                request.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        pass


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # an idle keep-alive connection is dropped after this
    # TCP_NODELAY, and each answer in one write: no Nagle / delayed-ACK
    # stall (~40 ms) on a kept-alive connection, which would skew the
    # timing the tests measure.
    disable_nagle_algorithm = True

    def __init__(self, request, client_address, server, conn_no=0):
        self.conn_no = conn_no
        super().__init__(request, client_address, server)

    def setup(self):
        lis = self.server.listener
        if lis.tls_context is not None:
            raw = self.request
            raw.settimeout(5)
            try:
                self.request = lis.tls_context.wrap_socket(raw,
                                                           server_side=True)
            except (ssl.SSLError, OSError) as exc:
                with lis._lock:
                    lis.tls_errors.append(str(exc))
                raise
            lis._forget(raw)
            lis._track(self.request)
        super().setup()

    def log_message(self, fmt, *args):
        lis = self.server.listener
        with lis._lock:
            lis.log.append(fmt % args)

    def _body(self):
        length = self.headers.get("Content-Length")
        if length is not None:
            return self.rfile.read(int(length))
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        return b""

    def _handle(self):
        wall, mono = time.time(), time.monotonic()
        lis = self.server.listener
        body = self._body()
        req = Request(self.command, self.path, self.request_version,
                      list(self.headers.items()), body, wall, mono,
                      self.conn_no)
        with lis._lock:
            n = len(lis._requests)
            entry = lis.script[n] if n < len(lis.script) else lis.default
            lis._requests.append(req)
            lis._cond.notify_all()
        if entry == HANG:
            self.close_connection = True
            self._hang()
            return
        if isinstance(entry, int):
            entry = {"status": entry}
        if entry.get("delay"):
            if lis._stop.wait(entry["delay"]):
                return
        status = entry["status"]
        req.status = status  # before answering: the client may look at once
        payload = json.dumps({"status": status}).encode()
        self.send_response(status)
        for key, value in entry.get("headers", {}).items():
            self.send_header(key, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self._headers_buffer.append(b"\r\n" + payload)
        self.flush_headers()

    def _hang(self):
        """Never answer: wait until the client closes or the listener
        stops."""
        lis = self.server.listener
        sock = self.connection
        while not lis._stop.is_set():
            try:
                ready, _, _ = select.select([sock], [], [], 0.1)
            except (OSError, ValueError):
                return
            if ready:
                try:
                    if not sock.recv(4096):
                        return  # the client gave up
                except (OSError, ssl.SSLError):
                    return

    do_POST = do_GET = do_PUT = do_PATCH = do_DELETE = _handle


class WebhookListener:
    """See the module docstring. Starts listening in the constructor."""

    def __init__(self, script=(), default=200, silent=False, tls=None,
                 host="127.0.0.1", port=0):
        self.script = list(script)
        self.default = default
        self.silent = silent
        self.tls_context = None
        if tls is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.tls_context = ctx
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._requests = []
        self._socks = set()
        self._threads = []
        self._conn_count = 0
        self.connections = []   # monotonic time of each accepted connection
        self.errors = []
        self.tls_errors = []
        self.log = []
        self._server = _Server(self, (host, port))
        self.host = host
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
            daemon=True)
        self._thread.start()
        self.stopped = False

    @property
    def scheme(self):
        return "https" if self.tls_context else "http"

    def url(self, path="/", host=None):
        return "%s://%s:%d%s" % (self.scheme, host or self.host, self.port,
                                 path)

    def _track(self, sock):
        with self._lock:
            self._socks.add(sock)

    def _forget(self, sock):
        with self._lock:
            self._socks.discard(sock)

    @property
    def requests(self):
        with self._lock:
            return list(self._requests)

    def wait_requests(self, n, timeout):
        """The requests once there are at least n (bounded wait)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._requests) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        "listener :%d got %d request(s) in %.1fs, expected "
                        "%d: %r" % (self.port, len(self._requests), timeout,
                                    n, self._requests))
                self._cond.wait(left)
            return list(self._requests)

    def stop(self, timeout=5.0):
        """Stop accepting, drop every connection, join the threads."""
        if self.stopped:
            return
        self.stopped = True
        self._stop.set()
        done = threading.Event()

        def shut():
            self._server.shutdown()
            done.set()
        threading.Thread(target=shut, daemon=True).start()
        done.wait(timeout)
        with self._lock:
            socks = list(self._socks)
            self._socks.clear()
            threads = list(self._threads)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass
        try:
            self._server.server_close()
        except OSError:
            pass
        deadline = time.monotonic() + timeout
        self._thread.join(max(0.0, deadline - time.monotonic()))
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def make_self_signed(directory, cn="127.0.0.1"):
    """A self-signed certificate for 127.0.0.1 (CN and subjectAltName IP),
    made with the openssl command; returns (certfile, keyfile)."""
    cert = os.path.join(directory, "listener.crt")
    key = os.path.join(directory, "listener.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2",
                    "-subj", "/CN=%s" % cn,
                    "-addext", "subjectAltName=IP:127.0.0.1",
                    "-addext", "basicConstraints=critical,CA:TRUE"],
                   check=True, capture_output=True, timeout=30)
    return cert, key
