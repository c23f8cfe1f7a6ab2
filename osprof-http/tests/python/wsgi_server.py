"""A real WSGI server behind OSProfiler's WsgiMiddleware, keys SECRET_KEY.

Prints its port, then serves one request. The app answers with the trace it runs in:
{"base_id", "parent_id"} of its wsgi span, or {} when untraced.
"""
import json
import sys
from wsgiref.simple_server import WSGIRequestHandler, make_server

from osprofiler import profiler, web


def app(environ, start_response):
    trace = profiler.get()
    seen = {"base_id": trace.get_base_id(), "parent_id": trace.get_parent_id()} if trace else {}
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(seen).encode()]


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


server = make_server("127.0.0.1", 0, web.WsgiMiddleware(app, hmac_keys="SECRET_KEY", enabled=True),
                     handler_class=QuietHandler)
print(server.server_port, flush=True)
server.handle_request()
