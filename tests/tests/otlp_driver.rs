//! The `otlp://` driver against a real OTLP/HTTP receiver on loopback that decodes the
//! protobuf with the opentelemetry-proto types.

use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::trace::v1::{Span, span, status};
use osprof_core::drivers::DriverOptions;
use osprof_core::notifier;
use osprof_tests::otlp_receiver::Receiver;
use serde_json::json;

fn attribute<'a>(span: &'a Span, key: &str) -> Option<&'a any_value::Value> {
    span.attributes
        .iter()
        .find(|a| a.key == key)
        .and_then(|a| a.value.as_ref()?.value.as_ref())
}

fn low_64(id: &str) -> Vec<u8> {
    (uuid::Uuid::parse_str(id).unwrap().as_u128() as u64)
        .to_be_bytes()
        .to_vec()
}

#[test]
fn spans_arrive_with_the_mapped_ids_names_kinds_attributes_and_status() {
    let receiver = Receiver::default();
    let address = receiver.start();
    notifier::set_shared(
        notifier::try_create(
            &format!("otlp://{address}"),
            &DriverOptions::new("nova", "api"),
        )
        .unwrap(),
    );

    let profiler = osprof_core::init("SECRET_KEY", None, None);
    let wsgi_id;
    {
        let _request = osprof_core::Trace::new(
            "wsgi",
            Some(
                json!({"request": {"method": "GET", "path": "/v2/servers", "query": "", "scheme": "http"}}),
            ),
        );
        wsgi_id = osprof_core::get().unwrap().id().to_owned();
        drop(osprof_core::Trace::new(
            "db",
            Some(json!({"db": {"statement": "select * from servers"}})),
        ));
        drop(osprof_core::Trace::new(
            "http",
            Some(
                json!({"requests": {"method": "GET", "hostname": "compute.example", "port": 443}}),
            ),
        ));
        // Two threads at once, each with a child: parents come from ids, not from order.
        let workers: Vec<_> = (0..2)
            .map(|_| osprof_core::thread::spawn(|| drop(osprof_core::Trace::new("compute", None))))
            .collect();
        workers
            .into_iter()
            .for_each(|worker| worker.join().unwrap());
        osprof_core::start("rpc", None);
        osprof_core::stop(Some(
            json!({"etype": "RemoteError", "message": "timed out"}),
        ));
    }
    osprof_core::clean();
    notifier::flush();
    notifier::reset();

    let spans = receiver.spans.lock().unwrap().clone();
    let base = uuid::Uuid::parse_str(profiler.base_id())
        .unwrap()
        .as_u128()
        .to_be_bytes()
        .to_vec();
    assert_eq!(spans.len(), 6);
    assert!(spans.iter().all(|span| span.trace_id == base));
    let named = |name: &str| {
        spans
            .iter()
            .find(|span| span.name == name)
            .unwrap_or_else(|| panic!("{name} in {spans:#?}"))
    };

    let wsgi = named("WSGI_GET_/v2/servers");
    assert_eq!(wsgi.kind, span::SpanKind::Server as i32);
    assert!(wsgi.parent_span_id.is_empty(), "a root span");
    assert_eq!(wsgi.span_id, low_64(&wsgi_id));
    assert!(wsgi.start_time_unix_nano < wsgi.end_time_unix_nano);
    assert_eq!(
        attribute(wsgi, "request.path"),
        Some(&any_value::Value::StringValue("/v2/servers".into()))
    );

    let sql = named("SQL_SELECT");
    assert_eq!(
        (sql.kind, &sql.parent_span_id),
        (span::SpanKind::Client as i32, &wsgi.span_id)
    );
    assert_eq!(
        attribute(sql, "db.statement"),
        Some(&any_value::Value::StringValue(
            "select * from servers".into()
        ))
    );

    let call = named("REQUESTS_GET_compute.example");
    assert_eq!(
        (call.kind, &call.parent_span_id),
        (span::SpanKind::Client as i32, &wsgi.span_id)
    );
    assert_eq!(
        attribute(call, "requests.port"),
        Some(&any_value::Value::IntValue(443))
    );

    let computes: Vec<&Span> = spans.iter().filter(|span| span.name == "compute").collect();
    assert_eq!(computes.len(), 2);
    assert!(
        computes
            .iter()
            .all(|span| span.parent_span_id == wsgi.span_id
                && span.kind == span::SpanKind::Internal as i32)
    );

    let rpc = named("rpc");
    let status = rpc.status.as_ref().unwrap();
    assert_eq!(
        (status.code, status.message.as_str()),
        (status::StatusCode::Error as i32, "timed out")
    );

    let resource = receiver.resource.lock().unwrap();
    assert!(resource.contains(&("service.name".into(), "api".into())));
    assert!(resource.contains(&("service.namespace".into(), "nova".into())));
}

#[test]
fn a_bad_endpoint_is_a_clear_error() {
    let error = notifier::try_create("otlp://", &DriverOptions::default()).unwrap_err();
    assert!(error.to_string().contains("otlp://host:4318"), "{error}");
}
