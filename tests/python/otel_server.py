"""An OpenTelemetry callee: a real HTTP server whose context comes from the W3C headers, by the
OpenTelemetry SDK's own propagator.

Prints its port, then serves requests until killed. Each answer is the context the SDK
extracted and the span it started under it, as JSON: {"trace_id", "parent_id" (32 and 16 hex
digits, or null when there was no valid context), "tracestate"}.
"""
import json
from http.server import BaseHTTPRequestHandler, HTTPServer

from opentelemetry import trace
from opentelemetry.propagate import extract
from opentelemetry.sdk.trace import TracerProvider

trace.set_tracer_provider(TracerProvider())
tracer = trace.get_tracer("otel-callee")


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        context = extract(dict(self.headers.items()))
        parent = trace.get_current_span(context).get_span_context()
        with tracer.start_as_current_span("handle", context=context) as span:
            own = span.get_span_context()
            seen = {
                "trace_id": format(own.trace_id, "032x") if parent.is_valid else None,
                "parent_id": format(parent.span_id, "016x") if parent.is_valid else None,
                "tracestate": parent.trace_state.to_header() if parent.is_valid else None,
            }
        body = json.dumps(seen).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = HTTPServer(("127.0.0.1", 0), Handler)
print(server.server_port, flush=True)
server.serve_forever()
