//! A real OTLP/HTTP receiver on loopback: decodes each export request's protobuf with the
//! opentelemetry-proto types and keeps the spans, for the tests of the `otlp://` driver.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

/// Receives OTLP/HTTP export requests; keeps every decoded span and the resource attributes.
#[derive(Clone, Default)]
pub struct Receiver {
    /// Every span received, in order.
    pub spans: Arc<Mutex<Vec<Span>>>,
    /// The resource attributes of every request.
    pub resource: Arc<Mutex<Vec<(String, String)>>>,
}

impl Receiver {
    /// Listens on a free local port and serves every connection on a thread of its own.
    pub fn start(&self) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let receiver = self.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let receiver = receiver.clone();
                std::thread::spawn(move || receiver.serve(stream.unwrap()));
            }
        });
        address
    }

    /// HTTP/1.1 requests on one connection, until it closes.
    fn serve(&self, stream: TcpStream) {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut writer = stream;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            assert!(line.starts_with("POST /v1/traces "), "{line}");
            let mut length = 0;
            let mut content_type = String::new();
            loop {
                let mut header = String::new();
                reader.read_line(&mut header).unwrap();
                let header = header.trim_end();
                if header.is_empty() {
                    break;
                }
                let (name, value) = header.split_once(':').unwrap();
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap(),
                    "content-type" => content_type = value.trim().to_owned(),
                    _ => {}
                }
            }
            assert_eq!(content_type, "application/x-protobuf");
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let request = ExportTraceServiceRequest::decode(&body[..]).unwrap();
            for resource_spans in request.resource_spans {
                for attribute in resource_spans.resource.unwrap().attributes {
                    if let Some(any_value::Value::StringValue(text)) =
                        attribute.value.unwrap().value
                    {
                        self.resource.lock().unwrap().push((attribute.key, text));
                    }
                }
                for scope in resource_spans.scope_spans {
                    self.spans.lock().unwrap().extend(scope.spans);
                }
            }
            writer
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n")
                .unwrap();
        }
    }
}
