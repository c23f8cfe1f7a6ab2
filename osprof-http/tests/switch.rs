//! The process-wide switch of `osprof_core::web` (set by `enable`/`disable` and by
//! `init_from_conf`'s `enabled`) overrides each layer's setting, at run time. One test in its
//! own binary, since the switch is global.

#[path = "../../osprof-core/tests/common/mod.rs"]
mod common;
mod support;

use osprof_http::TraceLayer;
use support::{app, fetch, serve, signed, uuid};

#[tokio::test]
async fn enable_and_disable_override_the_layer() {
    common::install_sink();
    let off = serve(app(TraceLayer::new(["layer-key"]).enabled(false))).await;
    let on = serve(app(TraceLayer::new(["layer-key"]))).await;
    let base_id = uuid();
    let headers = |key| {
        let (info, hmac) = signed(&base_id, &base_id, key);
        [("X-Trace-Info", info), ("X-Trace-HMAC", hmac)]
    };
    let call = |address, key| {
        let headers = headers(key);
        async move {
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
            fetch(address, "/whoami", &headers).await.1
        }
    };

    // Keys given to `enable` replace the layer's, and turn the disabled layer on.
    osprof_core::web::enable(["global-key"]);
    assert!(call(off, "global-key").await.starts_with("traced"));
    assert_eq!(call(on, "layer-key").await, "untraced");

    // Without keys, `enable` keeps each layer's own.
    osprof_core::web::enable(Vec::<String>::new());
    assert!(call(off, "layer-key").await.starts_with("traced"));

    osprof_core::web::disable();
    assert_eq!(call(on, "layer-key").await, "untraced");

    // `init_from_conf` applies `enabled` both ways, with the configured keys.
    let mut conf = osprof_core::config::ProfilerConfig::default();
    conf.connection_string = format!(
        "file://{}",
        std::env::temp_dir()
            .join(format!("osprof-switch-{}.jsonl", std::process::id()))
            .display()
    );
    conf.hmac_keys = vec!["conf-key".into()];
    conf.enabled = true;
    let sink = osprof_core::notifier::get();
    let startup = osprof_core::config::init_from_conf(&conf, "nova", "api", None);
    assert!(startup.is_ok(), "{startup}");
    osprof_core::notifier::set_shared(sink.clone());
    assert!(call(on, "conf-key").await.starts_with("traced"));
    conf.enabled = false;
    let startup = osprof_core::config::init_from_conf(&conf, "nova", "api", None);
    assert_eq!(
        startup.to_string(),
        "osprof: disabled; trace headers are ignored"
    );
    assert_eq!(call(on, "conf-key").await, "untraced");
    assert_eq!(call(off, "layer-key").await, "untraced");
}
