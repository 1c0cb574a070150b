"""A small fake of Twilio's REST API, served over real HTTP, for tests and the benchmark.

It answers what the official SDK asks of it here: create and list Messages and Calls under
``/2010-04-01/Accounts/{sid}/``, with JSON shaped like Twilio's, and serves the audio of
recordings put in ``recordings`` (``/Recordings/{RE...}.mp3``). It records every request,
and fails on demand: ``fail_next(status, code)`` queues answers such as a 500, a 429 or a
400 with Twilio error 21610; ``latency`` delays every answer (the benchmark uses 50 ms).
The network fails on demand too: ``drop_next()`` closes the connection without answering
(before or after taking the request), ``answer_late(seconds)`` takes the request and answers
only after the client has given up waiting.

Run it alone with ``python tests/fake_twilio.py --port 8765 --latency 0.05``.
"""

from __future__ import annotations

import argparse
import json
import socket
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response


class _QuietHandler(WSGIRequestHandler):
    """No access log: thousands of lines would cost the benchmark more than the requests."""

    def log_request(self, *args, **kwargs) -> None:
        pass


@dataclass
class Received:
    """One create request the fake accepted or refused."""

    kind: str  # sms | call
    to: str
    sender: str
    body: str
    url: str
    status_callback: str
    sid: str | None
    answered: int
    at: float = field(default_factory=time.time)  # when the request arrived
    sent: bool = True  # False: still in Twilio's queue (no DateSent / StartTime yet)


class FakeTwilio:
    """The fake API; ``url`` is what TWILIO_API_URL should be set to."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, latency: float = 0.0):
        self.latency = latency
        self.received: list[Received] = []
        self.list_requests = 0
        self.in_flight = 0
        self.accepted_count = 0
        self.recordings: dict[str, bytes] = {}  # RE sid -> the audio a coordinator plays
        #: True: what is accepted stays queued, as when Twilio's own queue is backed up; such
        #: messages and calls have no DateSent/StartTime, so filters on those skip them.
        self.hold_in_queue = False
        self.list_ignores_to = False  # a list that answers with other numbers' messages too
        self._failures: deque[tuple[int, int | None]] = deque()
        self._failures_for: dict[str, deque[tuple[int, int | None]]] = {}
        self._network: deque[tuple[str, float]] = deque()  # ("drop"|"drop-after"|"late", s)
        self._lock = threading.Lock()
        self._server = make_server(
            host, port, self._wsgi, threaded=True, request_handler=_QuietHandler
        )
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.url = f"http://{host}:{self._server.server_port}"

    # -- control -----------------------------------------------------------------------------

    def start(self) -> FakeTwilio:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail_next(self, status: int, code: int | None = None, times: int = 1) -> None:
        """The next ``times`` create requests (or recording fetches) get this answer instead."""
        with self._lock:
            self._failures.extend([(status, code)] * times)

    def fail_for(self, to: str, status: int, code: int | None = None, times: int = 1) -> None:
        """Create requests to ``to`` get this answer, ``times`` times."""
        with self._lock:
            self._failures_for.setdefault(to, deque()).extend([(status, code)] * times)

    def drop_next(self, times: int = 1, *, after_taking_it: bool = False) -> None:
        """Close the next ``times`` create requests' connections without an answer; with
        ``after_taking_it`` the message or call is accepted first, as when the answer is lost."""
        with self._lock:
            self._network.extend([("drop-after" if after_taking_it else "drop", 0.0)] * times)

    def answer_late(self, seconds: float, times: int = 1) -> None:
        """Accept the next ``times`` create requests, but answer only after ``seconds``."""
        with self._lock:
            self._network.extend([("late", seconds)] * times)

    def accepted(self, kind: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.sid and (kind is None or r.kind == kind)]

    def reset(self) -> None:
        with self._lock:
            self.received.clear()
            self.accepted_count = 0
            self.recordings.clear()
            self._failures.clear()
            self._failures_for.clear()
            self._network.clear()
            self.hold_in_queue = False
            self.list_ignores_to = False

    # -- HTTP --------------------------------------------------------------------------------

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        response = self._handle(request)
        return response(environ, start_response)

    def _handle(self, request: Request) -> Response:
        with self._lock:
            self.in_flight += 1
        try:
            return self._answer(request)
        finally:
            with self._lock:
                self.in_flight -= 1

    def settle(self, timeout: float = 10.0) -> None:
        """Wait until every request already received has been answered."""
        deadline = time.monotonic() + timeout
        while self.in_flight and time.monotonic() < deadline:
            time.sleep(0.005)

    def _answer(self, request: Request) -> Response:
        arrived = time.time()
        if self.latency:
            time.sleep(self.latency)
        parts = request.path.strip("/").split("/")
        # 2010-04-01 / Accounts / {sid} / Messages.json, or ... / Recordings / {sid}.mp3
        if len(parts) not in (4, 5) or parts[0] != "2010-04-01" or parts[1] != "Accounts":
            return _json({"code": 20404, "message": "not found", "status": 404}, 404)
        account, resource = parts[2], parts[3]
        if request.authorization is None or request.authorization.username != account:
            return _json({"code": 20003, "message": "Authenticate", "status": 401}, 401)
        if len(parts) == 5:
            return self._recording(resource, parts[4], request)
        kind = {"Messages.json": "sms", "Calls.json": "call"}.get(resource)
        if kind is None:
            return _json({"code": 20404, "message": "not found", "status": 404}, 404)
        if request.method == "GET":
            return self._list(kind, account, request)
        if request.method == "POST":
            return self._create(kind, account, request, arrived)
        return _json({"code": 20004, "message": "method not allowed", "status": 405}, 405)

    def _create(self, kind: str, account: str, request: Request, arrived: float) -> Response:
        form = request.form
        to = form.get("To", "")
        with self._lock:
            queue = self._failures_for.get(to)
            failure = (
                queue.popleft() if queue else (self._failures.popleft() if self._failures else None)
            )
        if failure:
            status, code = failure
            self._record(kind, form, None, status, arrived)
            payload = {
                "code": code,
                "message": f"fake failure {code or status}",
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": status,
            }
            return _json(payload, status)
        with self._lock:
            trouble, seconds = self._network.popleft() if self._network else (None, 0.0)
        if trouble == "drop":
            self._record(kind, form, None, 0, arrived)  # answered 0: no answer at all
            return self._hang_up(request)
        prefix = "SM" if kind == "sms" else "CA"
        sid = prefix + uuid.uuid4().hex
        self._record(kind, form, sid, 201, arrived)
        if trouble == "drop-after":
            return self._hang_up(request)
        if trouble == "late":
            time.sleep(seconds)
        return _json(self._resource(kind, account, sid, form, datetime.now(UTC)), 201)

    def _hang_up(self, request: Request) -> Response:
        """Close the connection with no answer; the client sees it broken mid-request."""
        connection = request.environ["werkzeug.socket"]
        connection.shutdown(socket.SHUT_RDWR)
        return Response(b"", status=204)

    def _recording(self, resource: str, name: str, request: Request) -> Response:
        with self._lock:
            failure = self._failures.popleft() if self._failures else None
            audio = self.recordings.get(name.removesuffix(".mp3"))
        if failure:
            status, code = failure
            return _json({"code": code, "message": "fake failure", "status": status}, status)
        if resource != "Recordings" or request.method != "GET" or audio is None:
            return _json({"code": 20404, "message": "not found", "status": 404}, 404)
        return Response(audio, mimetype="audio/mpeg")

    def _record(self, kind, form, sid, answered, arrived: float) -> None:
        item = Received(
            kind=kind,
            to=form.get("To", ""),
            sender=form.get("From", ""),
            body=form.get("Body", ""),
            url=form.get("Url", ""),
            status_callback=form.get("StatusCallback", ""),
            sid=sid,
            answered=answered,
            at=arrived,
            sent=not self.hold_in_queue,
        )
        with self._lock:
            self.received.append(item)
            if sid:
                self.accepted_count += 1

    def _resource(self, kind, account, sid, form, created: datetime) -> dict:
        stamp = format_datetime(created, usegmt=True)
        base = {
            "sid": sid,
            "account_sid": account,
            "to": form.get("To"),
            "from": form.get("From"),
            "status": "queued",
            "date_created": stamp,
            "date_updated": stamp,
            "api_version": "2010-04-01",
            "uri": f"/2010-04-01/Accounts/{account}/{'Messages' if kind == 'sms' else 'Calls'}/{sid}.json",
        }
        if kind == "sms":
            base.update(
                {
                    "body": form.get("Body"),
                    "num_segments": "1",
                    "direction": "outbound-api",
                    "date_sent": None,
                    "price": None,
                    "error_code": None,
                    "error_message": None,
                    "messaging_service_sid": None,
                }
            )
        else:
            base.update(
                {
                    "direction": "outbound-api",
                    "start_time": None,
                    "end_time": None,
                    "duration": None,
                    "parent_call_sid": None,
                }
            )
        return base

    def _list(self, kind: str, account: str, request: Request) -> Response:
        args = request.args
        with self._lock:
            self.list_requests += 1
            items = [r for r in self.received if r.sid and r.kind == kind]
        to, sender = args.get("To"), args.get("From")
        after = args.get("DateSent>") or args.get("StartTime>")
        after_ts = (
            datetime.strptime(after, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
            if after
            else None
        )
        rows = []
        for r in items:
            if to and r.to != to and not self.list_ignores_to or sender and r.sender != sender:
                continue
            if after_ts is not None and (not r.sent or r.at < after_ts):
                continue  # like Twilio: a queued message has no DateSent to compare
            form = {"To": r.to, "From": r.sender, "Body": r.body}
            rows.append(
                self._resource(kind, account, r.sid, form, datetime.fromtimestamp(r.at, UTC))
            )
        key = "messages" if kind == "sms" else "calls"
        uri = request.full_path
        return _json(
            {
                key: rows,
                "first_page_uri": uri,
                "next_page_uri": None,
                "previous_page_uri": None,
                "page": 0,
                "page_size": len(rows) or 50,
                "start": 0,
                "end": max(len(rows) - 1, 0),
                "uri": uri,
            }
        )


def _json(payload: dict, status: int = 200) -> Response:
    return Response(json.dumps(payload), status=status, mimetype="application/json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency", type=float, default=0.0)
    options = parser.parse_args()
    fake = FakeTwilio(port=options.port, latency=options.latency).start()
    print(fake.url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
